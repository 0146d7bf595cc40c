"""step version egress_widened

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 13:00:00

Versions pushed before this revision get an empty list: they were pushed before steps could
declare egress, so none of them widened it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("egress_widened", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("step_version", schema=None) as batch_op:
        batch_op.drop_column("egress_widened")
