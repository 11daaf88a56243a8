"""The Telegram bridge's durable queue of customers' messages (channels/telegram/inbox.py).

Revision ID: telegram_0002
Revises: telegram_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "telegram_0002"
down_revision = "telegram_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_inbox",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("message_key", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        # Adopted as it is when `create_all` made it (as some tests' databases are made).
        if_not_exists=True,
    )
    op.create_index(
        "ix_telegram_inbox_waiting",
        "telegram_inbox",
        ["answered_at", "update_id"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_telegram_inbox_waiting", table_name="telegram_inbox")
    op.drop_table("telegram_inbox")
