"""The Telegram bridge's chat directory: which chat each conversation id belongs to.

Revision ID: telegram_0001
Revises:
Create Date: 2026-12-06

The table as `create_all` made it before there were migrations; a database made that way is
adopted as it is (IF NOT EXISTS).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "telegram_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_conversations",
        sa.Column("conversation_id", sa.String(64), primary_key=True),
        # Telegram's ids take up to 52 bits.
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("telegram_conversations")
