"""Pushed step versions: a workspace's registry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ui_api.columns import created_column


class StepVersion(SQLModel, table=True):
    __tablename__ = "step_version"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    name: str = Field(max_length=100)
    version: str = Field(max_length=64)
    digest: str = Field(max_length=71)
    size: int
    manifest: dict[str, Any] = Field(sa_type=sa.JSON)
    deprecated: bool = False
    deprecation_message: str = Field(default="", max_length=500)
    # The manifest's egress entries that the previous version's (the highest version below this
    # one when it was pushed) did not cover: what this version added (step_sdk.egress.widened).
    egress_widened: list[str] = Field(
        default_factory=list,
        sa_type=sa.JSON,
        sa_column_kwargs={"server_default": "[]", "nullable": False},
    )
    created_at: datetime = created_column()
