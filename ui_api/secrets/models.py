"""Workspace secrets, sealed at rest."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ui_api.columns import created_column


class Secret(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    name: str = Field(max_length=100)
    ciphertext: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = created_column()
    updated_at: datetime = created_column()
