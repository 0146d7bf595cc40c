"""The database: an engine per URL, Alembic migrations to head, sessions.

The driver is synchronous, so a session is only ever used off the event loop: in a plain ``def``
route (FastAPI runs those in its thread pool) or through :func:`in_transaction` from an
``async def`` one. A connection is never held across an await of Temporal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlmodel import Session

MIGRATIONS = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (the driver we ship)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=10,
            max_overflow=20,
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


# pg_advisory_xact_lock id serialising migrations ("stepwell migrate" as 8 bytes, big-endian)
MIGRATION_LOCK_ID = int.from_bytes(b"stepmigr", "big", signed=True)


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest migration (idempotent; run on every start).

    Several API processes (and workers) starting together on one new database migrate it once:
    on PostgreSQL the migration's transaction first takes an advisory transaction lock, so the
    others wait and then find the schema at head; on SQLite (one machine) a lock file beside
    the database does the same.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _migration_file_lock(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _migration_file_lock(engine: sa.Engine) -> AbstractContextManager[object]:
    """A lock file beside a SQLite database file; nothing for other databases."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        return nullcontext()
    return FileLock(f"{path}.migrate.lock")


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


T = TypeVar("T")


async def in_transaction(engine: sa.Engine, work: Callable[[Session], T], executor: Executor) -> T:
    """Run ``work(session)`` in one transaction on a thread of ``executor`` and return its
    result.

    Commits when ``work`` returns and rolls back when it raises (the exception propagates). The
    event loop never waits on the database (on SQLite a writer may wait for the lock, up to the
    busy timeout, in its thread), and the connection is back in the pool before this returns.
    """

    def call() -> T:
        with session_scope(engine) as session:
            return work(session)

    return await asyncio.get_running_loop().run_in_executor(executor, call)


async def in_session(engine: sa.Engine, work: Callable[[Session], T], executor: Executor) -> T:
    """Run ``work(session)`` on a thread of ``executor``; ``work`` commits what it wants kept, and
    whatever it leaves uncommitted is rolled back when the session closes."""

    def call() -> T:
        with Session(engine, expire_on_commit=False) as session:
            return work(session)

    return await asyncio.get_running_loop().run_in_executor(executor, call)
