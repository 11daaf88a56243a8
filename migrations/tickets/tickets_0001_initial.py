"""The ticket desk: tickets, their transcripts, status history, notes and agents' replies.

Revision ID: tickets_0001
Revises:
Create Date: 2026-12-06

The tables as `create_all` made them before there were migrations; a database made that way is
adopted as it is (IF NOT EXISTS: only what is missing is created).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "tickets_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contact_number", sa.String(20), nullable=False),
        sa.Column("msisdn", sa.String(11)),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("network_issue", sa.String(30)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("response_due", sa.DateTime(), nullable=False),
        sa.Column("repair_due", sa.DateTime()),
        sa.Column("responded_at", sa.DateTime()),
        sa.Column("assigned_to", sa.String(40)),
        if_not_exists=True,
    )
    for column in (
        "category",
        "status",
        "contact_number",
        "msisdn",
        "conversation_id",
        "created_at",
    ):
        op.create_index(f"ix_tickets_{column}", "tickets", [column], if_not_exists=True)
    op.create_table(
        "ticket_turns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.String(20), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("ticket_id", "position"),
        if_not_exists=True,
    )
    op.create_table(
        "ticket_status_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.String(20), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("from_status", sa.String(30)),
        sa.Column("to_status", sa.String(30), nullable=False),
        sa.Column("by", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.String(20), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("author", sa.String(40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "agent_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.String(20), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("author", sa.String(40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("delivery", sa.String(10), nullable=False),
        sa.Column("delivered_at", sa.DateTime()),
        sa.Column("failure", sa.Text()),
        if_not_exists=True,
    )
    for table in ("ticket_turns", "ticket_status_changes", "ticket_notes", "agent_replies"):
        op.create_index(f"ix_{table}_ticket_id", table, ["ticket_id"], if_not_exists=True)
    # The channels' poll: "pending replies of this channel (and conversation)".
    op.create_index(
        "ix_agent_replies_outbox",
        "agent_replies",
        ["channel", "delivery", "conversation_id"],
        if_not_exists=True,
    )


def downgrade() -> None:
    # Referencing tables first; a table's indexes go with it.
    for table in (
        "agent_replies",
        "ticket_notes",
        "ticket_status_changes",
        "ticket_turns",
        "tickets",
    ):
        op.drop_table(table)
