"""The SMS business hall's open questions: the cancellation each line was asked to confirm,
kept in the database so that the answer may reach another hall, or this one after a restart.

Revision ID: sms_hall_0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sms_hall_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_hall_questions",
        sa.Column("msisdn", sa.String(11), primary_key=True),
        sa.Column("subscription_ids", sa.Text(), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        # Like every area's first revision: a database whose tables exist is adopted.
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("sms_hall_questions")
