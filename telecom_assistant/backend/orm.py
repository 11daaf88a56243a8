"""SQLAlchemy tables of the demo billing/CRM system (SQLite by default, PostgreSQL by URL).

Written in the SQLAlchemy 2.0 style that 1.4 already supports (``select()``, ``future=True``),
because Rasa 3.6 pins SQLAlchemy below 1.5.
"""
from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class PlanRow(Base):
    __tablename__ = "plans"

    id = Column(String(40), primary_key=True)
    name = Column(String(80), nullable=False, unique=True)
    name_zh = Column(String(80), nullable=False)
    aliases = Column(Text, nullable=False, default="")  # comma-separated loose names
    kind = Column(String(10), nullable=False)
    monthly_fee = Column(Integer, nullable=False)
    data_mb = Column(Integer, nullable=False)
    minutes = Column(Integer, nullable=False)
    sms = Column(Integer, nullable=False)
    is_5g = Column(Boolean, nullable=False)
    contract_months = Column(Integer, nullable=False)
    termination_fee = Column(Integer, nullable=False)
    data_overage_per_gb = Column(Integer, nullable=False)
    voice_overage_per_minute = Column(Integer, nullable=False)
    sms_overage_each = Column(Integer, nullable=False)
    broadband_mbps = Column(Integer, nullable=False, default=0)
    min_age = Column(Integer, nullable=False, default=0)
    conditions = Column(Text, nullable=False)
    conditions_zh = Column(Text, nullable=False)


class DeviceRow(Base):
    __tablename__ = "devices"

    model = Column(String(80), primary_key=True)
    five_g = Column(String(10), nullable=False)


class CoverageRow(Base):
    __tablename__ = "coverage"
    __table_args__ = (UniqueConstraint("city", "district"),)

    id = Column(Integer, primary_key=True)
    city = Column(String(40), nullable=False, index=True)
    district = Column(String(40), nullable=False)
    outdoor = Column(String(10), nullable=False)
    indoor = Column(String(10), nullable=False)


class CustomerRow(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    name = Column(String(80), nullable=False)
    birth_year = Column(Integer, nullable=False)


class LineRow(Base):
    __tablename__ = "lines"

    msisdn = Column(String(11), primary_key=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=False)
    plan_id = Column(ForeignKey("plans.id"), nullable=False)
    device_model = Column(ForeignKey("devices.model"), nullable=False)
    city = Column(String(40), nullable=False)
    district = Column(String(40), nullable=False)
    activated_on = Column(Date, nullable=False)
    contract_end = Column(Date)
    prepaid_balance = Column(Integer)  # NULL for postpaid lines
    next_plan_id = Column(ForeignKey("plans.id"))
    next_plan_from = Column(Date)
    demo_story = Column(Text, nullable=False, default="")  # what this demo line shows off

    customer = relationship(CustomerRow)
    plan = relationship(PlanRow, foreign_keys=[plan_id])
    next_plan = relationship(PlanRow, foreign_keys=[next_plan_id])
    device = relationship(DeviceRow)


class AddOnRow(Base):
    __tablename__ = "addons"

    id = Column(String(40), primary_key=True)
    name = Column(String(80), nullable=False, unique=True)
    name_zh = Column(String(80), nullable=False)
    aliases = Column(Text, nullable=False, default="")
    monthly_fee = Column(Integer, nullable=False)
    description = Column(Text, nullable=False)


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"

    id = Column(Integer, primary_key=True)
    msisdn = Column(ForeignKey("lines.msisdn"), nullable=False, index=True)
    addon_id = Column(ForeignKey("addons.id"), nullable=False)
    started_on = Column(Date, nullable=False)
    ordering_channel = Column(String(40), nullable=False)
    consent_record = Column(Text)  # NULL: the operator holds no record of the customer's consent
    cancelled_at = Column(DateTime)
    consent_disputed = Column(Boolean, nullable=False, default=False)

    addon = relationship(AddOnRow)


class UsageRow(Base):
    __tablename__ = "usage_cycles"
    __table_args__ = (UniqueConstraint("msisdn", "cycle_start"),)

    id = Column(Integer, primary_key=True)
    msisdn = Column(ForeignKey("lines.msisdn"), nullable=False, index=True)
    cycle_start = Column(Date, nullable=False)
    cycle_end = Column(Date, nullable=False)
    data_used_mb = Column(Integer, nullable=False)
    minutes_used = Column(Integer, nullable=False)
    sms_used = Column(Integer, nullable=False)
    roaming_data_mb = Column(Integer, nullable=False, default=0)
    roaming_minutes = Column(Integer, nullable=False, default=0)


class BillRow(Base):
    __tablename__ = "bills"
    __table_args__ = (UniqueConstraint("msisdn", "cycle_start"),)

    id = Column(Integer, primary_key=True)
    msisdn = Column(ForeignKey("lines.msisdn"), nullable=False, index=True)
    cycle_start = Column(Date, nullable=False)
    cycle_end = Column(Date, nullable=False)
    due_date = Column(Date, nullable=False)

    lines = relationship("BillLineRow", order_by="BillLineRow.id", lazy="selectin")
    payments = relationship("PaymentRow", lazy="selectin")


class BillLineRow(Base):
    __tablename__ = "bill_lines"

    id = Column(Integer, primary_key=True)
    bill_id = Column(ForeignKey("bills.id"), nullable=False, index=True)
    category = Column(String(20), nullable=False)
    description = Column(Text, nullable=False)
    amount = Column(Integer, nullable=False)
    quantity = Column(Float)
    unit_price = Column(Integer)
    subscription_id = Column(ForeignKey("subscriptions.id"))
    roaming_country = Column(String(40))

    subscription = relationship(SubscriptionRow, lazy="joined")


class PaymentRow(Base):
    __tablename__ = "payments"

    id = Column(Integer, primary_key=True)
    bill_id = Column(ForeignKey("bills.id"), nullable=False, index=True)
    amount = Column(Integer, nullable=False)
    paid_on = Column(Date, nullable=False)
    method = Column(String(20), nullable=False)


class VerificationCodeRow(Base):
    """The one-time code of one conversation for one number (hashed), and that conversation's
    wrong codes and lock-out: a stranger's guesses lock out the stranger's conversation only.
    Replaces the table `verifications` (one row per number), which is no longer read."""

    __tablename__ = "verification_codes"

    msisdn = Column(String(11), primary_key=True)
    conversation_key = Column(String(64), primary_key=True)  # sha256 of the conversation id
    code_hash = Column(String(64))
    expires_at = Column(DateTime)
    wrong_attempts = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime)


class VerificationCounterRow(Base):
    """Events counted in a fixed window: codes sent per number and per conversation, wrong
    codes per number. Updated by single UPDATE statements, so concurrent requests never lose a
    count (see SqlAccountService._count_in)."""

    __tablename__ = "verification_counters"

    scope = Column(String(40), primary_key=True)  # which limit, e.g. "codes per number, 10 min"
    subject = Column(String(64), primary_key=True)  # a number, or a conversation key
    window_start = Column(DateTime, nullable=False)
    count = Column(Integer, nullable=False)


class SmsOutboxRow(Base):
    """What the demo SMS gateway has 'sent': the place to read one-time codes from."""

    __tablename__ = "sms_outbox"

    id = Column(Integer, primary_key=True)
    msisdn = Column(String(11), nullable=False, index=True)
    body = Column(Text, nullable=False)
    sent_at = Column(DateTime, nullable=False)


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

    turns = relationship("TicketTurnRow", order_by="TicketTurnRow.position", lazy="selectin",
                         cascade="all, delete-orphan")
    history = relationship("TicketStatusRow", order_by="TicketStatusRow.id", lazy="selectin",
                           cascade="all, delete-orphan")
    notes = relationship("TicketNoteRow", order_by="TicketNoteRow.id", lazy="selectin",
                         cascade="all, delete-orphan")
    replies = relationship("AgentReplyRow", order_by="AgentReplyRow.id", lazy="selectin",
                           cascade="all, delete-orphan")


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
    ticket_id = Column(ForeignKey("tickets.id"), nullable=False, index=True)
    channel = Column(String(20), nullable=False)
    conversation_id = Column(String(200), nullable=False)
    language = Column(String(5), nullable=False)
    author = Column(String(40), nullable=False)
    text = Column(Text, nullable=False)
    at = Column(DateTime, nullable=False)
    delivery = Column(String(10), nullable=False)
    delivered_at = Column(DateTime)
    failure = Column(Text)


# The channels' poll: "pending replies of this channel (and conversation)".
Index("ix_agent_replies_outbox", AgentReplyRow.channel, AgentReplyRow.delivery,
      AgentReplyRow.conversation_id)


class AgentRow(Base):
    """An agent of the console. Created by `telecom agent add`; no account ships by default."""

    __tablename__ = "agents"

    username = Column(String(40), primary_key=True)
    display_name = Column(String(80), nullable=False)
    password_hash = Column(String(200), nullable=False)
    created_at = Column(DateTime, nullable=False)


class ConsoleSessionRow(Base):
    """A logged-in console session; only a hash of its cookie token is stored."""

    __tablename__ = "console_sessions"

    token_hash = Column(String(64), primary_key=True)
    username = Column(ForeignKey("agents.username"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)
