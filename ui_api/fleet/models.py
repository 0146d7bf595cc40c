"""Tables shared by the API processes and the workers (docs/scaling.md).

- ``bundle``: pushed step bundles by digest (the database bundle store).
- ``installation``: one row, a random id made by the migration; every container a worker
  creates carries it, so a janitor only judges containers whose leases live in its database.
- ``worker_lease``: one row per running worker process, renewed while it lives; a janitor on any
  worker of the same engine removes the containers of a worker whose lease has expired.
- ``layer_use``: when a dependency or bundle layer was last used on a Docker engine, by any
  worker of this installation; layer garbage collection goes by it.
- ``rate_bucket``: the token buckets of the API's rate limits, shared by every API process.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ui_api.columns import UTCDateTime, created_column


class StoredBundle(SQLModel, table=True):
    __tablename__ = "bundle"

    digest: str = Field(primary_key=True, max_length=71, description="sha256:<64 hex>")
    data: bytes = Field(sa_type=sa.LargeBinary, description="the bundle's .tgz bytes")
    size_bytes: int
    created_at: datetime = created_column()


class Installation(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=40)


class WorkerLease(SQLModel, table=True):
    __tablename__ = "worker_lease"

    id: str = Field(primary_key=True, max_length=64, description="the worker's owner id")
    hostname: str = Field(max_length=255)
    pid: int
    engine_id: str = Field(index=True, max_length=128, description="docker info ID")
    started_at: datetime = created_column()
    renewed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class LayerUse(SQLModel, table=True):
    __tablename__ = "layer_use"

    engine_id: str = Field(primary_key=True, max_length=128)
    layer_key: str = Field(primary_key=True, max_length=128)
    last_used_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class RateBucket(SQLModel, table=True):
    __tablename__ = "rate_bucket"

    key: str = Field(primary_key=True, max_length=200, description="'<limiter>:<caller id>'")
    tokens: float
    updated_at: float = Field(description="Unix time (s) of the last take")
