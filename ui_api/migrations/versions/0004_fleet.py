"""fleet: stored bundles, installation id, worker leases, layer uses, rate buckets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 19:00:00

What lets the API and workers run on different machines with no shared filesystem
(docs/scaling.md). Bundles stored before in ``STEPWELL_HOME/bundles`` are copied into the
``bundle`` table by the API on start (activities.bundle_store), not here: a migration has no
home directory.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bundle",
        sa.Column("digest", sa.String(length=71), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.String(length=40), primary_key=True),
    )
    op.bulk_insert(installation, [{"id": f"inst_{secrets.token_hex(10)}"}])
    op.create_table(
        "worker_lease",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("engine_id", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("renewed_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_worker_lease_engine_id", "worker_lease", ["engine_id"])
    op.create_table(
        "layer_use",
        sa.Column("engine_id", sa.String(length=128), primary_key=True),
        sa.Column("layer_key", sa.String(length=128), primary_key=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "rate_bucket",
        sa.Column("key", sa.String(length=200), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_bucket")
    op.drop_table("layer_use")
    op.drop_index("ix_worker_lease_engine_id", table_name="worker_lease")
    op.drop_table("worker_lease")
    op.drop_table("installation")
    op.drop_table("bundle")
