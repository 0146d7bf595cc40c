"""Workspace secrets in the database, sealed with the settings' key.

The API writes them (``put_secret``); workers read them at step execution time through
:class:`DatabaseSecrets`, a :class:`activities.secrets.SecretProvider`. Plain values never go
into Temporal: the run carries secret *names* (in manifests) only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ui_api.columns import utcnow
from ui_api.secrets.crypto import SecretBox
from ui_api.secrets.models import Secret


def _context(workspace_id: str, name: str) -> str:
    return f"{workspace_id}/{name}"


def secret_row(session: Session, workspace_id: str, name: str) -> Secret | None:
    """The workspace's secret row of that name (its value stays sealed)."""
    return session.exec(
        select(Secret).where(Secret.workspace_id == workspace_id, Secret.name == name)
    ).first()


def secret_rows(session: Session, workspace_id: str) -> list[Secret]:
    """The workspace's secret rows, by name."""
    return list(
        session.exec(
            select(Secret).where(Secret.workspace_id == workspace_id).order_by(col(Secret.name))
        ).all()
    )


def put_secret(session: Session, box: SecretBox, workspace_id: str, name: str, value: str) -> bool:
    """Create or replace a secret; True if it was created."""
    row = secret_row(session, workspace_id, name)
    sealed = box.seal(value, _context(workspace_id, name))
    if row is None:
        session.add(Secret(workspace_id=workspace_id, name=name, ciphertext=sealed))
        return True
    row.ciphertext = sealed
    row.updated_at = utcnow()
    session.add(row)
    return False


class SecretStoreError(RuntimeError):
    """The secret store cannot be read (database unreachable, or its tables missing)."""


class DatabaseSecrets:
    """Looks secrets up in the API's database and opens them (used by workers)."""

    def __init__(self, engine: sa.Engine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    def resolve(self, workspace_id: str, names: Sequence[str]) -> dict[str, str]:
        if not names:
            return {}
        with Session(self._engine) as session:
            try:
                rows = session.exec(
                    select(Secret).where(
                        Secret.workspace_id == workspace_id, col(Secret.name).in_(list(names))
                    )
                ).all()
            except sa.exc.SQLAlchemyError as exc:
                raise SecretStoreError(
                    "cannot read workspace secrets from the database (the worker needs the "
                    "API's STEPWELL_DATABASE_URL, and the API must have started once to create "
                    f"its tables): {type(getattr(exc, 'orig', None) or exc).__name__}"
                ) from None
            return {
                row.name: self._box.open(row.ciphertext, _context(workspace_id, row.name))
                for row in rows
            }
