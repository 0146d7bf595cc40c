"""Workspaces and API keys: creation (admin CLI, ``stepwell up``) and lookup by key."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from ui_api.auth.models import ApiKey, Workspace
from ui_api.columns import utcnow

KEY_PREFIX = "sw_"


class AdminError(ValueError):
    """A bootstrap request that can't be done (duplicate name, unknown workspace)."""


def hash_key(key: str) -> str:
    """Keys are 256 random bits, so one sha256 is enough (no password stretching needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_workspace(session: Session, name: str) -> Workspace:
    name = name.strip()
    if not name or len(name) > 100:
        raise AdminError("workspace name must be 1 to 100 characters")
    if session.exec(select(Workspace).where(Workspace.name == name)).first() is not None:
        raise AdminError(f"a workspace named {name!r} already exists")
    workspace = Workspace(name=name)
    session.add(workspace)
    session.flush()
    return workspace


def find_workspace(session: Session, ident: str) -> Workspace | None:
    """A workspace by id or by name."""
    return (
        session.get(Workspace, ident)
        or session.exec(select(Workspace).where(Workspace.name == ident)).first()
    )


def create_key(session: Session, workspace_id: str, name: str = "default") -> tuple[ApiKey, str]:
    """A new key for the workspace: the row (hash only) and the key itself, shown once."""
    if session.get(Workspace, workspace_id) is None:
        raise AdminError(f"no workspace {workspace_id!r}")
    if not name.strip() or len(name) > 100:
        raise AdminError("key name must be 1 to 100 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(workspace_id=workspace_id, name=name, prefix=key[:10], key_hash=hash_key(key))
    session.add(row)
    session.flush()
    return row, key


def lookup_key(session: Session, key: str) -> ApiKey | None:
    """The live key row for a presented key, or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    if row is None or row.revoked_at is not None:
        return None
    return row


def revoke_key(session: Session, row: ApiKey) -> None:
    row.revoked_at = utcnow()
    session.add(row)
