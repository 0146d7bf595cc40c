"""artifacts: files step executions saved, by run, execution and attempt

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 19:30:00

The bytes are in the bundle store by digest; rows here say which run, execution (``step_id``,
``each[2]`` for a foreach item) and attempt saved them (ui_api.artifacts).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artifact",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=200), nullable=False),
        sa.Column("step_id", sa.String(length=200), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("run_id", "step_id", "attempt", "name", name="uq_artifact_execution"),
    )
    op.create_index("ix_artifact_workspace_id", "artifact", ["workspace_id"])
    op.create_index("ix_artifact_run_id", "artifact", ["run_id"])
    op.create_index("ix_artifact_digest", "artifact", ["digest"])


def downgrade() -> None:
    op.drop_table("artifact")
