"""The SMS gateway's log carries both directions: what customers send to the service number
(the SMS hall, channels/sms/) and what each outgoing message is (code, reminder, hall answer).

Revision ID: accounts_0002
Revises: accounts_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "accounts_0002"
down_revision = "accounts_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sms_outbox") as table:
        table.add_column(sa.Column("direction", sa.String(3), nullable=False, server_default="out"))
        table.add_column(sa.Column("purpose", sa.String(10), nullable=False, server_default="code"))
        table.add_column(sa.Column("handled_at", sa.DateTime()))
    # The SMS hall's question: which incoming messages wait for an answer.
    op.create_index("ix_sms_outbox_waiting", "sms_outbox", ["direction", "handled_at"])


def downgrade() -> None:
    op.drop_index("ix_sms_outbox_waiting", "sms_outbox")
    with op.batch_alter_table("sms_outbox") as table:
        table.drop_column("handled_at")
        table.drop_column("purpose")
        table.drop_column("direction")
