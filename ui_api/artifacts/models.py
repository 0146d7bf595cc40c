"""The ``artifact`` table: one row per file a step execution saved (step_sdk.artifacts).

The bytes live in the bundle store by digest (``activities.bundle_store``); a row says whose they
are. ``step_id`` is the execution's path as the runs API names it (``each[2]`` for the third
foreach item), ``attempt`` the step attempt that saved it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ui_api.columns import created_column


class ArtifactRow(SQLModel, table=True):
    __tablename__ = "artifact"
    __table_args__ = (
        sa.UniqueConstraint("run_id", "step_id", "attempt", "name", name="uq_artifact_execution"),
    )

    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(max_length=40, index=True)
    run_id: str = Field(max_length=200, index=True)
    step_id: str = Field(max_length=200, description="execution path: `score` or `each[2]`")
    attempt: int
    name: str = Field(max_length=1024, description="a file name, at most 255 bytes of UTF-8")
    content_type: str = Field(max_length=255)
    size_bytes: int
    digest: str = Field(max_length=71, index=True, description="sha256:<64 hex>")
    created_at: datetime = created_column()
