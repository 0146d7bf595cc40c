"""Flows and their immutable versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ui_api.columns import created_column, new_id


class Flow(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name"),)

    id: str = Field(default_factory=lambda: new_id("flw"), primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    name: str = Field(max_length=100)
    enabled: bool = True
    latest_version: int = 1
    created_at: datetime = created_column()
    updated_at: datetime = created_column()


class FlowVersion(SQLModel, table=True):
    __tablename__ = "flow_version"
    __table_args__ = (sa.UniqueConstraint("flow_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    flow_id: str = Field(foreign_key="flow.id", index=True, max_length=40)
    version: int
    definition: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: datetime = created_column()
