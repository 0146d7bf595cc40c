"""Request and response bodies of the auth routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ui_api.encodable import EncodableModel


class WorkspaceOut(EncodableModel):
    id: str
    name: str
    created_at: datetime


class KeyOut(EncodableModel):
    id: str
    name: str
    prefix: str = Field(description="the key's first characters, to recognise it")
    created_at: datetime
    revoked_at: datetime | None


class NewKey(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class CreatedKey(KeyOut):
    key: str = Field(description="the key itself: shown once, stored only as a hash")
