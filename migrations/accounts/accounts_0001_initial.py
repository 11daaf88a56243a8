"""The demo billing/CRM system, its SMS outbox and the verification codes it sends.

Revision ID: accounts_0001
Revises:
Create Date: 2026-12-06

The tables as `create_all` made them before there were migrations; a database made that way is
adopted as it is (IF NOT EXISTS: only what is missing is created).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "accounts_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("name_zh", sa.String(80), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("monthly_fee", sa.Integer(), nullable=False),
        sa.Column("data_mb", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("sms", sa.Integer(), nullable=False),
        sa.Column("is_5g", sa.Boolean(), nullable=False),
        sa.Column("contract_months", sa.Integer(), nullable=False),
        sa.Column("termination_fee", sa.Integer(), nullable=False),
        sa.Column("data_overage_per_gb", sa.Integer(), nullable=False),
        sa.Column("voice_overage_per_minute", sa.Integer(), nullable=False),
        sa.Column("sms_overage_each", sa.Integer(), nullable=False),
        sa.Column("broadband_mbps", sa.Integer(), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("conditions_zh", sa.Text(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "devices",
        sa.Column("model", sa.String(80), primary_key=True),
        sa.Column("five_g", sa.String(10), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "coverage",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("city", sa.String(40), nullable=False),
        sa.Column("district", sa.String(40), nullable=False),
        sa.Column("outdoor", sa.String(10), nullable=False),
        sa.Column("indoor", sa.String(10), nullable=False),
        sa.UniqueConstraint("city", "district"),
        if_not_exists=True,
    )
    op.create_index("ix_coverage_city", "coverage", ["city"], if_not_exists=True)
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "lines",
        sa.Column("msisdn", sa.String(11), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("plan_id", sa.String(40), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("device_model", sa.String(80), sa.ForeignKey("devices.model"), nullable=False),
        sa.Column("city", sa.String(40), nullable=False),
        sa.Column("district", sa.String(40), nullable=False),
        sa.Column("activated_on", sa.Date(), nullable=False),
        sa.Column("contract_end", sa.Date()),
        sa.Column("prepaid_balance", sa.Integer()),
        sa.Column("next_plan_id", sa.String(40), sa.ForeignKey("plans.id")),
        sa.Column("next_plan_from", sa.Date()),
        sa.Column("demo_story", sa.Text(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "addons",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("name_zh", sa.String(80), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("monthly_fee", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("msisdn", sa.String(11), sa.ForeignKey("lines.msisdn"), nullable=False),
        sa.Column("addon_id", sa.String(40), sa.ForeignKey("addons.id"), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ordering_channel", sa.String(40), nullable=False),
        sa.Column("consent_record", sa.Text()),
        sa.Column("cancelled_at", sa.DateTime()),
        sa.Column("consent_disputed", sa.Boolean(), nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_subscriptions_msisdn", "subscriptions", ["msisdn"], if_not_exists=True)
    op.create_table(
        "usage_cycles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("msisdn", sa.String(11), sa.ForeignKey("lines.msisdn"), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("cycle_end", sa.Date(), nullable=False),
        sa.Column("data_used_mb", sa.Integer(), nullable=False),
        sa.Column("minutes_used", sa.Integer(), nullable=False),
        sa.Column("sms_used", sa.Integer(), nullable=False),
        sa.Column("roaming_data_mb", sa.Integer(), nullable=False),
        sa.Column("roaming_minutes", sa.Integer(), nullable=False),
        sa.UniqueConstraint("msisdn", "cycle_start"),
        if_not_exists=True,
    )
    op.create_index("ix_usage_cycles_msisdn", "usage_cycles", ["msisdn"], if_not_exists=True)
    op.create_table(
        "bills",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("msisdn", sa.String(11), sa.ForeignKey("lines.msisdn"), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("cycle_end", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.UniqueConstraint("msisdn", "cycle_start"),
        if_not_exists=True,
    )
    op.create_index("ix_bills_msisdn", "bills", ["msisdn"], if_not_exists=True)
    op.create_table(
        "bill_lines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bill_id", sa.Integer(), sa.ForeignKey("bills.id"), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Float()),
        sa.Column("unit_price", sa.Integer()),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("subscriptions.id")),
        sa.Column("roaming_country", sa.String(40)),
        if_not_exists=True,
    )
    op.create_index("ix_bill_lines_bill_id", "bill_lines", ["bill_id"], if_not_exists=True)
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bill_id", sa.Integer(), sa.ForeignKey("bills.id"), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_payments_bill_id", "payments", ["bill_id"], if_not_exists=True)
    op.create_table(
        "verification_codes",
        sa.Column("msisdn", sa.String(11), primary_key=True),
        sa.Column("conversation_key", sa.String(64), primary_key=True),
        sa.Column("code_hash", sa.String(64)),
        sa.Column("expires_at", sa.DateTime()),
        sa.Column("wrong_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime()),
        if_not_exists=True,
    )
    op.create_table(
        "verification_counters",
        sa.Column("scope", sa.String(40), primary_key=True),
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "sms_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("msisdn", sa.String(11), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_sms_outbox_msisdn", "sms_outbox", ["msisdn"], if_not_exists=True)


def downgrade() -> None:
    # Referencing tables first; a table's indexes go with it.
    for table in (
        "sms_outbox",
        "verification_counters",
        "verification_codes",
        "payments",
        "bill_lines",
        "bills",
        "usage_cycles",
        "subscriptions",
        "addons",
        "lines",
        "customers",
        "coverage",
        "devices",
        "plans",
    ):
        op.drop_table(table)
