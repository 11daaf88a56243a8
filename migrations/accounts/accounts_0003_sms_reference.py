"""An outgoing SMS may carry its sender's reference, unique: a reminder sent again by a
scheduler that died before recording the send is not sent twice.

Revision ID: accounts_0003
Revises: accounts_0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "accounts_0003"
down_revision = "accounts_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sms_outbox") as table:
        table.add_column(sa.Column("reference", sa.String(40)))
    op.create_index("ux_sms_outbox_reference", "sms_outbox", ["reference"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_sms_outbox_reference", "sms_outbox")
    with op.batch_alter_table("sms_outbox") as table:
        table.drop_column("reference")
