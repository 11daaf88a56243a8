"""Customer satisfaction: rating requests and their answers, and the conversations the
assistant closed.

Revision ID: satisfaction_0001
Revises:
Create Date: 2026-12-07

Created IF NOT EXISTS, as the other areas' first revisions are: a database whose tables
`create_all` made (as some tests make theirs) is adopted as it is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "satisfaction_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "csat_surveys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("category", sa.String(30)),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("score", sa.Integer()),
        sa.Column("comment", sa.Text()),
        sa.Column("answered_at", sa.DateTime()),
        sa.UniqueConstraint("subject", "subject_id"),
        if_not_exists=True,
    )
    op.create_index(
        "ix_csat_surveys_answered_at", "csat_surveys", ["answered_at"], if_not_exists=True
    )
    op.create_table(
        "conversation_ends",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("filed_ticket", sa.Boolean(), nullable=False),
        if_not_exists=True,
    )
    op.create_index(
        "ix_conversation_ends_ended_at", "conversation_ends", ["ended_at"], if_not_exists=True
    )


def downgrade() -> None:
    # A table's indexes go with it.
    op.drop_table("conversation_ends")
    op.drop_table("csat_surveys")
