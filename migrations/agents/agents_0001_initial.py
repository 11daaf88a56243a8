"""The console's agents and their signed-in sessions.

Revision ID: agents_0001
Revises:
Create Date: 2026-12-06

The tables as `create_all` made them before there were migrations; a database made that way is
adopted as it is (IF NOT EXISTS: only what is missing is created).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "agents_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("username", sa.String(40), primary_key=True),
        sa.Column("display_name", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(40), sa.ForeignKey("agents.username"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        if_not_exists=True,
    )
    op.create_index(
        "ix_console_sessions_username", "console_sessions", ["username"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_table("console_sessions")
    op.drop_table("agents")
