"""schedule overlap policy

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:45:00

Schedules created before this revision keep Temporal's "skip" policy they were created with.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("overlap", sa.String(length=20), nullable=False, server_default="skip")
        )


def downgrade() -> None:
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.drop_column("overlap")
