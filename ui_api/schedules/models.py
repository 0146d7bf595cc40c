"""A flow's schedules (cron or interval), mirrored by Temporal Schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ui_api.columns import created_column, new_id


class Schedule(SQLModel, table=True):
    id: str = Field(default_factory=lambda: new_id("sch"), primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    flow_id: str = Field(foreign_key="flow.id", index=True, max_length=40)
    cron: str | None = Field(default=None, max_length=200)
    interval_s: int | None = None
    timezone: str = Field(default="UTC", max_length=64)
    payload: Any = Field(default=None, sa_type=sa.JSON)
    paused: bool = False
    note: str = Field(default="", max_length=500)
    created_at: datetime = created_column()
    # What a fire does while the previous run is still going (rules.OVERLAP).
    overlap: str = Field(default="skip", max_length=20, sa_column_kwargs={"server_default": "skip"})
