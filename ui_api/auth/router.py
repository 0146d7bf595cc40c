"""The caller's workspace and its API keys."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import col, select

from ui_api.auth.dependencies import CallerDep
from ui_api.auth.models import ApiKey, Workspace
from ui_api.auth.schemas import CreatedKey, KeyOut, NewKey, WorkspaceOut
from ui_api.auth.service import create_key, revoke_key
from ui_api.deps import SessionDep
from ui_api.errors import ApiError, not_found
from ui_api.json_body import StrictJsonRoute

router = APIRouter(prefix="/v1", tags=["workspace"], route_class=StrictJsonRoute)


def _key_out(row: ApiKey) -> KeyOut:
    return KeyOut.model_validate(row, from_attributes=True)


@router.get("/workspace", response_model=WorkspaceOut)
def get_workspace(caller: CallerDep, session: SessionDep) -> WorkspaceOut:
    """The workspace the presented key belongs to."""
    workspace = session.get(Workspace, caller.workspace_id)
    if workspace is None:  # the key outlived its workspace
        raise ApiError(401, "invalid or revoked API key")
    return WorkspaceOut.model_validate(workspace, from_attributes=True)


@router.get("/keys", response_model=list[KeyOut])
def list_keys(caller: CallerDep, session: SessionDep) -> list[KeyOut]:
    """The workspace's keys (hashes stay on the server; only prefixes are shown)."""
    rows = session.exec(
        select(ApiKey)
        .where(ApiKey.workspace_id == caller.workspace_id)
        .order_by(col(ApiKey.created_at))
    ).all()
    return [_key_out(row) for row in rows]


@router.post("/keys", response_model=CreatedKey, status_code=status.HTTP_201_CREATED)
def new_key(body: NewKey, caller: CallerDep, session: SessionDep) -> CreatedKey:
    """Create another key for this workspace; the answer is the only time it is shown."""
    row, key = create_key(session, caller.workspace_id, body.name)
    return CreatedKey(**_key_out(row).model_dump(), key=key)


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_key(key_id: str, caller: CallerDep, session: SessionDep) -> None:
    """Revoke a key at once (the key making the request may revoke itself)."""
    row = session.get(ApiKey, key_id)
    if row is None or row.workspace_id != caller.workspace_id or row.revoked_at is not None:
        raise not_found("key", key_id)
    revoke_key(session, row)
