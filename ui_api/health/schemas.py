"""Request and response bodies of the health routes."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    status: str  # ok | degraded
    api: str
    database: str
    temporal: str
