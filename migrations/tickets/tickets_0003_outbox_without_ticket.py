"""The reply outbox also carries the assistant's reminders (telecom_assistant/reminders/),
which belong to no ticket: `agent_replies.ticket_id` may be empty.

Revision ID: tickets_0003
Revises: tickets_0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "tickets_0003"
down_revision = "tickets_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agent_replies") as table:
        table.alter_column("ticket_id", existing_type=sa.String(20), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM agent_replies WHERE ticket_id IS NULL")
    with op.batch_alter_table("agent_replies") as table:
        table.alter_column("ticket_id", existing_type=sa.String(20), nullable=False)
