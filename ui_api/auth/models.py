"""Workspaces and their API keys (stored as hashes)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from ui_api.columns import UTCDateTime, created_column, new_id


class Workspace(SQLModel, table=True):
    id: str = Field(default_factory=lambda: new_id("ws"), primary_key=True, max_length=40)
    name: str = Field(unique=True, max_length=100)
    created_at: datetime = created_column()


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: str = Field(default_factory=lambda: new_id("key"), primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=20, description="the key's first characters, for display")
    key_hash: str = Field(unique=True, max_length=64, description="sha256 of the whole key")
    created_at: datetime = created_column()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
