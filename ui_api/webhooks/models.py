"""A flow's webhook: its URL token and optional signing secret."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ui_api.columns import created_column, new_id


class Webhook(SQLModel, table=True):
    id: str = Field(default_factory=lambda: new_id("whk"), primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    flow_id: str = Field(foreign_key="flow.id", unique=True, max_length=40)
    token: str = Field(unique=True, max_length=64, description="the unguessable URL part")
    signing_secret: bytes | None = Field(
        default=None, sa_type=sa.LargeBinary, description="HMAC key, encrypted at rest"
    )
    created_at: datetime = created_column()
