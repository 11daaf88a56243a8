"""Live chat: customers waiting for or talking with an agent, what was said after a filing,
and the kind, author's name and buttons of the messages in the reply outbox.

Revision ID: tickets_0002
Revises: tickets_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "tickets_0002"
down_revision = "tickets_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agent_replies") as table:
        table.add_column(sa.Column("kind", sa.String(10), nullable=False, server_default="letter"))
        table.add_column(sa.Column("author_name", sa.String(80)))
        table.add_column(sa.Column("buttons", sa.Text()))
    op.create_table(
        "ticket_follow_ups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.String(20), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("speaker", sa.String(10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("reply_id", sa.Integer(), sa.ForeignKey("agent_replies.id")),
    )
    op.create_index("ix_ticket_follow_ups_ticket_id", "ticket_follow_ups", ["ticket_id"])
    op.create_table(
        "live_chats",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.String(20), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("agent", sa.String(40)),
        sa.Column("agent_name", sa.String(80)),
        sa.Column("taken_at", sa.DateTime()),
        sa.Column("ended_at", sa.DateTime()),
        sa.Column("end_reason", sa.String(20)),
        sa.Column("customer_typing_at", sa.DateTime()),
        sa.Column("agent_typing_at", sa.DateTime()),
        sa.Column("customer_seen_at", sa.DateTime()),
    )
    op.create_index("ix_live_chats_ticket_id", "live_chats", ["ticket_id"])
    op.create_index("ix_live_chats_conversation_id", "live_chats", ["conversation_id"])
    op.create_index("ix_live_chats_state", "live_chats", ["state"])


def downgrade() -> None:
    op.drop_table("live_chats")
    op.drop_table("ticket_follow_ups")
    with op.batch_alter_table("agent_replies") as table:
        table.drop_column("buttons")
        table.drop_column("author_name")
        table.drop_column("kind")
