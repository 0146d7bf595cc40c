"""Locks that hold across API processes on one database: what ``KeyedLocks`` takes after its
in-process lock.

- PostgreSQL: a session-level advisory lock (``pg_advisory_lock``, PostgreSQL manual §13.3.5)
  on a connection of a small pool of its own, held for the block. The wait is bounded by
  ``lock_timeout`` (an advisory lock is a heavyweight lock, so the setting applies); if the
  connection or its server session dies the lock goes with it, never left behind.
- SQLite: the database is a file on one machine, so its processes share that file system; a
  lock file per key beside the database (``<db>.locks/``, ``flock`` through the ``filelock``
  package) excludes them. SQLite's own locks cannot serve: a held write lock would stop the
  block's own transactions.
- an in-memory SQLite database has no other process: no shared lock.

Holding a connection across an await of Temporal: the block holding the lock awaits Temporal
(bounded by the schedules' RPC timeout). The connection is fine to hold there: it comes from a
pool of its own (request handlers never wait for it), it is in autocommit mode and idle between
the lock and the unlock (no transaction, no snapshot, no row locks), it is taken and given back
on threads (the event loop never waits on it), and each process holds at most one per flow being
changed (the in-process lock is in front) and at most ``POOL`` in all (503 beyond).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import filelock
import sqlalchemy as sa

# connections for advisory locks per API process: distinct flows changed at the same moment
POOL = 16


class LockTimeout(Exception):
    """The lock could not be had within the wait."""


class SharedLocks(Protocol):
    """Blocking acquire and release (call them off the event loop)."""

    def acquire(self, key: str, timeout_s: float) -> object:
        """Hold ``key``'s lock and return a handle for :meth:`release`.

        Raises:
            LockTimeout: not had within ``timeout_s`` seconds.
        """
        ...

    def release(self, handle: object) -> None: ...

    def close(self) -> None: ...


def advisory_key(key: str) -> int:
    """A signed 64-bit advisory lock id for ``key`` (a collision only serialises two keys)."""
    digest = hashlib.blake2b(f"stepwell:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class _Held:
    connection: sa.Connection
    lock_id: int


class PostgresLocks:
    """Session-level advisory locks on a pool of ``POOL`` autocommit connections."""

    def __init__(self, url: sa.URL) -> None:
        self._engine = sa.create_engine(
            url,
            isolation_level="AUTOCOMMIT",
            pool_pre_ping=True,
            pool_size=POOL,
            max_overflow=0,
        )

    def acquire(self, key: str, timeout_s: float) -> _Held:
        lock_id = advisory_key(key)
        try:
            connection = self._engine.connect()
        except sa.exc.TimeoutError:
            raise LockTimeout(f"no lock connection free (all {POOL} in use)") from None
        try:
            wait_ms = max(1, int(timeout_s * 1000))
            connection.execute(
                sa.text("SELECT set_config('lock_timeout', :wait, false)"),
                {"wait": f"{wait_ms}ms"},
            )
            connection.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
        except sa.exc.OperationalError as exc:
            connection.close()
            if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                raise LockTimeout(f"lock {key!r} still held after {timeout_s:g} s") from None
            raise
        except BaseException:
            connection.close()
            raise
        return _Held(connection, lock_id)

    def release(self, handle: object) -> None:
        assert isinstance(handle, _Held)
        try:
            handle.connection.execute(
                sa.text("SELECT pg_advisory_unlock(:id)"), {"id": handle.lock_id}
            )
        except sa.exc.DBAPIError:
            # the session is gone or going: its locks go with it; never reuse this connection
            handle.connection.invalidate()
        finally:
            handle.connection.close()

    def close(self) -> None:
        self._engine.dispose()


class FileLocks:
    """A lock file per key in ``directory`` (processes of one machine, as SQLite is)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def acquire(self, key: str, timeout_s: float) -> filelock.BaseFileLock:
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        # acquired on one thread and released on another: not thread-local
        lock = filelock.FileLock(self._directory / f"{name}.lock", thread_local=False)
        try:
            lock.acquire(timeout=max(timeout_s, 0.0))
        except filelock.Timeout:
            raise LockTimeout(f"lock {key!r} still held after {timeout_s:g} s") from None
        return lock

    def release(self, handle: object) -> None:
        assert isinstance(handle, filelock.BaseFileLock)
        handle.release()

    def close(self) -> None:
        return None


def open_shared_locks(engine: sa.Engine) -> SharedLocks | None:
    """The cross-process locks for ``engine``'s database (None: an in-memory SQLite one)."""
    url = engine.url
    if engine.dialect.name == "postgresql":
        return PostgresLocks(url)
    if engine.dialect.name == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            return None
        database = Path(url.database)
        return FileLocks(database.with_name(database.name + ".locks"))
    raise ValueError(f"locks: unsupported database dialect {engine.dialect.name!r}")
