"""The default bundle store: the ``bundle`` table of Stepwell's database (SQLite or PostgreSQL),
which the API processes and every worker already reach."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from activities.bundles import BundleNotFound, BundleStoreError, hex_of, verified
from step_sdk.bundle import digest_of
from ui_api.fleet.models import StoredBundle

BUNDLE = StoredBundle.__table__  # type: ignore[attr-defined]  # SQLModel tables have it
assert isinstance(BUNDLE, sa.Table)


class DatabaseBundleStore:
    """Bundles as rows ``(digest, data, size_bytes, created_at)`` in ``bundle``.

    ``put`` is one ``INSERT ... ON CONFLICT (digest) DO UPDATE ... WHERE data differs``: two
    processes pushing the same bytes at once both succeed with one row (PostgreSQL and SQLite
    serialise the conflict), a row whose bytes were damaged is rewritten, an intact one is not
    touched. ``get`` checks the bytes against the digest.

    Raises (from both):
        BundleStoreError: the database cannot be reached or has no ``bundle`` table yet.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        # both dialects' INSERT has the same on_conflict_do_update
        self._insert: Callable[[sa.Table], Any]
        if dialect == "postgresql":
            self._insert = postgresql.insert
        elif dialect == "sqlite":
            self._insert = sqlite.insert
        else:
            raise ValueError(
                f"the database bundle store supports PostgreSQL and SQLite, not {dialect}"
            )

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        hex_of(digest)
        statement = self._insert(BUNDLE).values(digest=digest, data=data, size_bytes=len(data))
        statement = statement.on_conflict_do_update(
            index_elements=[BUNDLE.c.digest],
            set_={"data": statement.excluded.data, "size_bytes": statement.excluded.size_bytes},
            where=BUNDLE.c.data != statement.excluded.data,
        )
        with self._errors(), self._engine.begin() as connection:
            connection.execute(statement)
        return digest

    def get(self, digest: str) -> bytes:
        hex_of(digest)
        with self._errors(), self._engine.connect() as connection:
            data = connection.execute(
                sa.select(BUNDLE.c.data).where(BUNDLE.c.digest == digest)
            ).scalar_one_or_none()
        if data is None:
            raise BundleNotFound(f"no bundle {digest}")
        return verified(bytes(data), digest, "in the database's bundle table")

    def delete(self, digest: str) -> None:
        hex_of(digest)
        with self._errors(), self._engine.begin() as connection:
            connection.execute(sa.delete(BUNDLE).where(BUNDLE.c.digest == digest))

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """The database failing (unreachable, or never migrated: no ``bundle`` table yet) as a
        :class:`BundleStoreError` naming the setting; the cause's text is for the log."""
        try:
            yield
        except sa.exc.DBAPIError as exc:
            raise BundleStoreError(
                f"the bundle table of STEPWELL_DATABASE_URL cannot be used (is the database up, "
                f"and migrated by the API?): {type(exc.orig).__name__}: {exc.orig}"
            ) from None
