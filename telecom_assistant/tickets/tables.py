"""Tables of the SQL ticket desk: tickets, their transcripts, status history, notes and the
agents' replies waiting for a channel to deliver them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

# Each area has its own metadata: its own tables, its own migrations (migrations/).
# SQLAlchemy 1.4 ships no type information: to mypy the base is Any, as is every column.
Base: Any = declarative_base()


class TicketRow(Base):
    __tablename__ = "tickets"

    id = Column(String(20), primary_key=True)
    # Retrying an escalation sends the same key: the unique index makes a second ticket
    # impossible even when two Rasa servers race.
    idempotency_key = Column(String(200), nullable=False, unique=True)
    kind = Column(String(20), nullable=False)
    category = Column(String(30), nullable=False, index=True)
    priority = Column(String(10), nullable=False)
    status = Column(String(30), nullable=False, index=True)
    description = Column(Text, nullable=False)
    contact_number = Column(String(20), nullable=False, index=True)
    msisdn = Column(String(11), index=True)  # the verified line, NULL when not verified
    channel = Column(String(20), nullable=False)
    conversation_id = Column(String(200), nullable=False, index=True)
    language = Column(String(5), nullable=False)
    network_issue = Column(String(30))
    created_at = Column(DateTime, nullable=False, index=True)
    response_due = Column(DateTime, nullable=False)
    repair_due = Column(DateTime)
    responded_at = Column(DateTime)
    assigned_to = Column(String(40))

    turns = relationship(
        "TicketTurnRow",
        order_by="TicketTurnRow.position",
        lazy="selectin",
        cascade="all, delete-orphan",
    )
    history = relationship(
        "TicketStatusRow",
        order_by="TicketStatusRow.id",
        lazy="selectin",
        cascade="all, delete-orphan",
    )
    notes = relationship(
        "TicketNoteRow", order_by="TicketNoteRow.id", lazy="selectin", cascade="all, delete-orphan"
    )
    replies = relationship(
        "AgentReplyRow", order_by="AgentReplyRow.id", lazy="selectin", cascade="all, delete-orphan"
    )
    follow_ups = relationship(
        "TicketFollowUpRow",
        order_by="TicketFollowUpRow.id",
        lazy="selectin",
        cascade="all, delete-orphan",
    )


class TicketTurnRow(Base):
    """One turn of the (masked) transcript snapshot."""

    __tablename__ = "ticket_turns"
    __table_args__ = (UniqueConstraint("ticket_id", "position"),)

    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("tickets.id"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    speaker = Column(String(10), nullable=False)
    text = Column(Text, nullable=False)
    at = Column(DateTime, nullable=False)


class TicketStatusRow(Base):
    __tablename__ = "ticket_status_changes"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("tickets.id"), nullable=False, index=True)
    from_status = Column(String(30))
    to_status = Column(String(30), nullable=False)
    by = Column(String(40), nullable=False)
    at = Column(DateTime, nullable=False)


class TicketNoteRow(Base):
    __tablename__ = "ticket_notes"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("tickets.id"), nullable=False, index=True)
    author = Column(String(40), nullable=False)
    text = Column(Text, nullable=False)
    at = Column(DateTime, nullable=False)


class AgentReplyRow(Base):
    """An agent's message to the customer of a ticket, and the outbox entry channels poll.

    Kept apart from the transcript snapshot (ticket_turns), which a retried filing rewrites.
    """

    __tablename__ = "agent_replies"

    id = Column(Integer, primary_key=True)
    # None: the assistant's own message outside a turn, a reminder (telecom_assistant/reminders/).
    ticket_id = Column(ForeignKey("tickets.id"), index=True)
    channel = Column(String(20), nullable=False)
    conversation_id = Column(String(200), nullable=False)
    language = Column(String(5), nullable=False)
    author = Column(String(40), nullable=False)
    text = Column(Text, nullable=False)
    at = Column(DateTime, nullable=False)
    delivery = Column(String(10), nullable=False)
    delivered_at = Column(DateTime)
    failure = Column(Text)
    # A letter (an answer to the ticket), a live chat message, or the desk's own notice.
    kind = Column(String(10), nullable=False, server_default="letter")
    # The agent's name as the customer reads it (None for notices).
    author_name = Column(String(80))
    # Buttons under the message, as JSON [{"title": ..., "payload": ...}] (None: no buttons).
    buttons = Column(Text)


class TicketFollowUpRow(Base):
    """What the customer and the assistant said after the ticket was filed: in a live chat
    with an agent, or to the assistant while the ticket is open. Masked like the transcript."""

    __tablename__ = "ticket_follow_ups"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("tickets.id"), nullable=False, index=True)
    speaker = Column(String(10), nullable=False)
    text = Column(Text, nullable=False)
    at = Column(DateTime, nullable=False)
    # An agent's live message: the outbox entry that carries it (and says whether it arrived).
    reply_id = Column(ForeignKey("agent_replies.id"))

    reply = relationship("AgentReplyRow", lazy="selectin")


class LiveChatRow(Base):
    """A customer waiting for, or talking with, an agent in the chat (tickets/live.py)."""

    __tablename__ = "live_chats"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("tickets.id"), nullable=False, index=True)
    conversation_id = Column(String(200), nullable=False, index=True)
    channel = Column(String(20), nullable=False)
    language = Column(String(5), nullable=False)
    state = Column(String(10), nullable=False, index=True)
    requested_at = Column(DateTime, nullable=False)
    agent = Column(String(40))
    agent_name = Column(String(80))
    taken_at = Column(DateTime)
    ended_at = Column(DateTime)
    end_reason = Column(String(20))
    customer_typing_at = Column(DateTime)
    agent_typing_at = Column(DateTime)
    customer_seen_at = Column(DateTime)


# The channels' poll: "pending replies of this channel (and conversation)".
Index(
    "ix_agent_replies_outbox",
    AgentReplyRow.channel,
    AgentReplyRow.delivery,
    AgentReplyRow.conversation_id,
)
