"""An incoming SMS records when it was answered, apart from when a hall claimed it: a message
claimed by a hall that was killed before answering is taken again (SmsGateway.waiting).

Revision ID: accounts_0004
Revises: accounts_0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "accounts_0004"
down_revision = "accounts_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sms_outbox") as table:
        table.add_column(sa.Column("answered_at", sa.DateTime()))
    # Claimed before this revision: answered then, or lost for good as the hall did at the time.
    op.execute("UPDATE sms_outbox SET answered_at = handled_at WHERE handled_at IS NOT NULL")
    op.drop_index("ix_sms_outbox_waiting", "sms_outbox")
    op.create_index("ix_sms_outbox_waiting", "sms_outbox", ["direction", "answered_at"])


def downgrade() -> None:
    op.drop_index("ix_sms_outbox_waiting", "sms_outbox")
    op.create_index("ix_sms_outbox_waiting", "sms_outbox", ["direction", "handled_at"])
    with op.batch_alter_table("sms_outbox") as table:
        table.drop_column("answered_at")
