"""What every domain's tables share: the UTC timestamp column type and public ids."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field


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


def created_column() -> Any:
    """A ``created_at``/``updated_at`` column: set to now (UTC) when the row is made."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
