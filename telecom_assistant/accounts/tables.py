"""Tables of the SQL account backend: the demo billing/CRM system (plans, lines, usage, bills,
add-ons), its SMS gateway's outbox and the verification codes it sends. An operator who plugs
in their own account system (another `AccountService`) has none of these."""

from __future__ import annotations

from typing import Any

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

# Each area has its own metadata: its own tables, its own migrations (migrations/).
# SQLAlchemy 1.4 ships no type information: to mypy the base is Any, as is every column.
Base: Any = declarative_base()


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
    """The demo SMS gateway's log: what it 'sent' (one-time codes, reminders, the SMS hall's
    answers) and what customers sent to the service number (`direction` "in"), which the SMS
    hall answers (channels/sms/) and marks handled."""

    __tablename__ = "sms_outbox"
    __table_args__ = (
        Index("ix_sms_outbox_waiting", "direction", "answered_at"),
        Index("ux_sms_outbox_reference", "reference", unique=True),
    )

    id = Column(Integer, primary_key=True)
    msisdn = Column(String(11), nullable=False, index=True)
    body = Column(Text, nullable=False)
    sent_at = Column(DateTime, nullable=False)
    direction = Column(String(3), nullable=False, server_default="out")
    # What an outgoing message is: a one-time code, a reminder, an answer of the SMS hall.
    purpose = Column(String(10), nullable=False, server_default="code")
    handled_at = Column(DateTime)  # an incoming message, once a hall claimed it
    answered_at = Column(DateTime)  # ... and once it answered it
    # The sender's key for an outgoing message that must go out once (SmsGateway.send).
    reference = Column(String(40))
