"""Reminders: what was sent to whom, opt-outs, the chats reminders reach, the scheduler's lease.

Revision ID: reminders_0001
Revises:
Create Date: 2026-12-07

Created IF NOT EXISTS, as the other areas' first revisions are: a database whose tables
`create_all` made (as some tests make theirs) is adopted as it is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "reminders_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("msisdn", sa.String(11), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("event", sa.String(80), nullable=False),
        sa.Column("topic", sa.String(30), nullable=False),
        sa.Column("subject", sa.String(40), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(5)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sms_at", sa.DateTime()),
        sa.Column("chat_channel", sa.String(20)),
        sa.Column("chat_conversation_id", sa.String(200)),
        sa.Column("chat_at", sa.DateTime()),
        sa.Column("chat_failure", sa.Text()),
        sa.UniqueConstraint("msisdn", "event"),
        if_not_exists=True,
    )
    op.create_index("ix_reminders_msisdn", "reminders", ["msisdn"], if_not_exists=True)
    op.create_index("ix_reminders_created_at", "reminders", ["created_at"], if_not_exists=True)
    op.create_index(
        "ix_reminders_chat_waiting", "reminders", ["chat_at", "created_at"], if_not_exists=True
    )
    op.create_table(
        "reminder_opt_outs",
        sa.Column("msisdn", sa.String(11), primary_key=True),
        sa.Column("kind", sa.String(10), primary_key=True),
        sa.Column("since", sa.DateTime(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "reminder_chats",
        sa.Column("msisdn", sa.String(11), primary_key=True),
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "customer_languages",
        sa.Column("msisdn", sa.String(11), primary_key=True),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(80), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    for table in (
        "scheduler_leases",
        "customer_languages",
        "reminder_chats",
        "reminder_opt_outs",
        "reminders",
    ):
        op.drop_table(table)
