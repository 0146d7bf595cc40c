"""The API's tables. Every row that belongs to a workspace carries ``workspace_id``."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC (SQLite keeps no time zone)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A public id: type prefix and 80 random bits, e.g. ``flw_3f9a0c...``."""
    return f"{prefix}_{secrets.token_hex(10)}"


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Workspace(SQLModel, table=True):
    id: str = Field(default_factory=lambda: new_id("ws"), primary_key=True, max_length=40)
    name: str = Field(unique=True, max_length=100)
    created_at: datetime = _created()


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: str = Field(default_factory=lambda: new_id("key"), primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=20, description="the key's first characters, for display")
    key_hash: str = Field(unique=True, max_length=64, description="sha256 of the whole key")
    created_at: datetime = _created()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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
    created_at: datetime = _created()


class Flow(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name"),)

    id: str = Field(default_factory=lambda: new_id("flw"), primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    name: str = Field(max_length=100)
    enabled: bool = True
    latest_version: int = 1
    created_at: datetime = _created()
    updated_at: datetime = _created()


class FlowVersion(SQLModel, table=True):
    __tablename__ = "flow_version"
    __table_args__ = (sa.UniqueConstraint("flow_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    flow_id: str = Field(foreign_key="flow.id", index=True, max_length=40)
    version: int
    definition: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: datetime = _created()


class Webhook(SQLModel, table=True):
    id: str = Field(default_factory=lambda: new_id("whk"), primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    flow_id: str = Field(foreign_key="flow.id", unique=True, max_length=40)
    token: str = Field(unique=True, max_length=64, description="the unguessable URL part")
    signing_secret: bytes | None = Field(
        default=None, sa_type=sa.LargeBinary, description="HMAC key, encrypted at rest"
    )
    created_at: datetime = _created()


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
    created_at: datetime = _created()
    # What a fire does while the schedule's previous run is still going (schedule_rules.OVERLAP).
    overlap: str = Field(default="skip", max_length=20, sa_column_kwargs={"server_default": "skip"})


class Secret(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    name: str = Field(max_length=100)
    ciphertext: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = _created()
    updated_at: datetime = _created()
