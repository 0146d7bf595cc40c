"""Storing what a step execution saved: bytes in the bundle store, a row in ``artifact``.

The activity's result (and a failure's details) carry only the references this returns,
``{"name", "content_type", "size_bytes", "digest"}``, never the bytes: Temporal's history stays
small whatever a step saves. The bytes go first, then the rows, so no row ever names bytes that
were not stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from activities.bundles import BundleStore
from sandbox.artifacts import Artifact
from ui_api.artifacts.models import ArtifactRow
from ui_api.columns import new_id, utcnow

ARTIFACT = ArtifactRow.__table__  # type: ignore[attr-defined]  # SQLModel tables have it
assert isinstance(ARTIFACT, sa.Table)


class ArtifactRecorder:
    """Stores an execution's artifacts in ``store`` and records them in ``engine``'s database.

    Raises (from :meth:`record`):
        BundleStoreError: the store cannot be reached.
        sqlalchemy.exc.DBAPIError: the database cannot be reached.
    """

    def __init__(self, store: BundleStore, engine: sa.Engine) -> None:
        self._store = store
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def record(
        self,
        *,
        workspace_id: str,
        run_id: str,
        step_id: str,
        attempt: int,
        artifacts: Sequence[Artifact],
    ) -> list[dict[str, Any]]:
        """Store ``artifacts`` (idempotent: the same execution and attempt recorded twice keeps
        the first rows); return their references in the order given."""
        if not artifacts:
            return []
        references = []
        rows = []
        for artifact in artifacts:
            digest = self._store.put(artifact.data)
            reference = {
                "name": artifact.name,
                "content_type": artifact.content_type,
                "size_bytes": len(artifact.data),
                "digest": digest,
            }
            references.append(reference)
            rows.append(
                {
                    "id": new_id("art"),
                    "workspace_id": workspace_id,
                    "run_id": run_id,
                    "step_id": step_id,
                    "attempt": attempt,
                    "created_at": utcnow(),
                    **reference,
                }
            )
        statement = self._insert(ARTIFACT).values(rows).on_conflict_do_nothing()
        with self._engine.begin() as connection:
            connection.execute(statement)
        return references
