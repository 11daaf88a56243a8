"""Tables of the reminders area: what was sent to whom, the customers' opt-outs, the chats a
reminder can reach, and the scheduler's lease. Their own metadata and migrations
(migrations/reminders/)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import declarative_base

# SQLAlchemy 1.4 ships no type information: to mypy the base is Any, as is every column.
Base: Any = declarative_base()


class ReminderRow(Base):
    """A reminder sent (model.SentReminder)."""

    __tablename__ = "reminders"
    # Once per line and event: a second scheduler's insert of the same event fails.
    __table_args__ = (
        UniqueConstraint("msisdn", "event"),
        Index("ix_reminders_created_at", "created_at"),
        Index("ix_reminders_chat_waiting", "chat_at", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    msisdn = Column(String(11), nullable=False, index=True)
    kind = Column(String(10), nullable=False)
    event = Column(String(80), nullable=False)
    topic = Column(String(30), nullable=False)
    subject = Column(String(40), nullable=False, default="")
    details = Column(Text, nullable=False)  # JSON
    urgent = Column(Boolean, nullable=False)
    language = Column(String(5))  # NULL: sent in both languages (none known)
    created_at = Column(DateTime, nullable=False)
    sms_at = Column(DateTime)
    chat_channel = Column(String(20))  # NULL: no chat known when it was sent
    chat_conversation_id = Column(String(200))
    chat_at = Column(DateTime)
    chat_failure = Column(Text)


class OptOutRow(Base):
    """A kind of reminder a customer turned off."""

    __tablename__ = "reminder_opt_outs"

    msisdn = Column(String(11), primary_key=True)
    kind = Column(String(10), primary_key=True)
    since = Column(DateTime, nullable=False)


class ReminderChatRow(Base):
    """The latest chat of each channel where the customer verified the line."""

    __tablename__ = "reminder_chats"

    msisdn = Column(String(11), primary_key=True)
    channel = Column(String(20), primary_key=True)
    conversation_id = Column(String(200), nullable=False)
    language = Column(String(5), nullable=False)
    verified_at = Column(DateTime, nullable=False)


class CustomerLanguageRow(Base):
    __tablename__ = "customer_languages"

    msisdn = Column(String(11), primary_key=True)
    language = Column(String(5), nullable=False)
    at = Column(DateTime, nullable=False)


class LeaseRow(Base):
    """Which scheduler scans, until when (store.ReminderStore.hold_lease)."""

    __tablename__ = "scheduler_leases"

    name = Column(String(40), primary_key=True)
    holder = Column(String(80), nullable=False)
    expires_at = Column(DateTime, nullable=False)
