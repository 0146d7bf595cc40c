"""A worker's lease: its row in ``worker_lease``, which tells every janitor it is alive.

A worker gets a fresh owner id at start (:func:`new_owner_id`): the ``stepwell.owner`` label of
every container it creates, its lease's id and its Temporal worker identity. It registers the
lease (:func:`register`) before it creates any container, renews it every third of its length
(:class:`LeaseKeeper`) and deletes it on a clean stop, after its containers are gone. A janitor of
the same installation on the same Docker engine removes the containers of an owner whose lease is
missing or expired (:func:`live_owners`), then deletes the expired leases (:func:`expire`).

Every time is the database's clock (:func:`db_now`): ``expires_at`` is written and compared on one
clock, so machines whose clocks disagree still agree on which leases have expired.

A lease is only ever renewed while it has not expired (a conditional update): once it has, a janitor
may already have judged its owner dead and be removing its containers, so the owner must not carry
on as if nothing happened. :class:`LeaseKeeper` then calls ``on_lost``: the worker logs it loudly
and stops taking work (stepwell.worker; a supervisor restarts it with a fresh id).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import docker
import sqlalchemy as sa

from stepwell.background import run_periodically
from ui_api.fleet.models import Installation, WorkerLease

log = logging.getLogger("stepwell.leases")
_LEASES = WorkerLease.__table__  # type: ignore[attr-defined]
_ID_MAX = 64


class LeaseError(Exception):
    """The lease cannot be had (no installation row: the database is not migrated)."""


class LeaseLost(LeaseError):
    """The worker's lease expired while it ran: it stopped taking work."""


def new_owner_id(hostname: str | None = None, pid: int | None = None) -> str:
    """A fresh owner id, unique per process: ``<hostname>/<pid>/<12 random hex>`` (≤ 64 chars).

    It never has the legacy ``<hostname>:<pid>`` shape, so a janitor never judges it by pid.
    """
    return owner_prefix(hostname, pid) + secrets.token_hex(6)


def owner_prefix(hostname: str | None = None, pid: int | None = None) -> str:
    """What every owner id of process ``pid`` on ``hostname`` starts with (default: this one)."""
    host = (hostname or socket.gethostname()).replace(":", "-")
    tail = f"/{pid if pid is not None else os.getpid()}/"
    return host[: _ID_MAX - 12 - len(tail)] + tail


def engine_id_of(docker_client: docker.DockerClient) -> str:
    """The Docker engine's ``docker info`` ID: leases and layer uses are kept per engine.

    Raises:
        LeaseError: the engine reports none.
    """
    found = str(docker_client.info().get("ID") or "")
    if not found:
        raise LeaseError("the Docker engine reports no ID in 'docker info'")
    return found


def db_now(connection: sa.Connection) -> datetime:
    """The database's current time, as an aware UTC datetime (sub-second on both dialects)."""
    if connection.dialect.name == "sqlite":
        text = connection.execute(sa.text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))
        return datetime.fromisoformat(text.scalar_one()).replace(tzinfo=UTC)
    value = connection.execute(sa.text("SELECT clock_timestamp()")).scalar_one()
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
    return value.astimezone(UTC)  # type: ignore[no-any-return]


def installation_id(engine: sa.Engine) -> str:
    """The ``installation`` row's id.

    Raises:
        LeaseError: there is none (the database has not been migrated to 0004 yet).
    """
    with engine.connect() as connection:
        found = connection.execute(sa.select(Installation.__table__.c.id)).scalar()  # type: ignore[attr-defined]
    if not found:
        raise LeaseError("the database has no installation row: start the API once to migrate it")
    return str(found)


def register(engine: sa.Engine, owner: str, engine_id: str, lease_s: float) -> datetime:
    """Insert ``owner``'s lease on Docker engine ``engine_id``; return when it expires."""
    with engine.begin() as connection:
        now = db_now(connection)
        expires = now + timedelta(seconds=lease_s)
        connection.execute(
            _LEASES.insert().values(
                id=owner,
                hostname=socket.gethostname()[:255],
                pid=os.getpid(),
                engine_id=engine_id,
                started_at=now,
                renewed_at=now,
                expires_at=expires,
            )
        )
    return expires


def renew(engine: sa.Engine, owner: str, lease_s: float) -> datetime | None:
    """Extend ``owner``'s lease by ``lease_s`` from now; None if it is gone or has expired."""
    with engine.begin() as connection:
        now = db_now(connection)
        expires = now + timedelta(seconds=lease_s)
        done = connection.execute(
            _LEASES.update()
            .where(_LEASES.c.id == owner, _LEASES.c.expires_at > now)
            .values(renewed_at=now, expires_at=expires)
        )
    return expires if done.rowcount == 1 else None


def release(engine: sa.Engine, owner: str) -> None:
    """Delete ``owner``'s lease (a clean stop, once its containers are gone)."""
    with engine.begin() as connection:
        connection.execute(_LEASES.delete().where(_LEASES.c.id == owner))


def live_owners(engine: sa.Engine, engine_id: str) -> frozenset[str]:
    """The owners whose lease on ``engine_id`` has not expired (by the database's clock)."""
    with engine.connect() as connection:
        now = db_now(connection)
        rows = connection.execute(
            sa.select(_LEASES.c.id).where(
                _LEASES.c.engine_id == engine_id, _LEASES.c.expires_at > now
            )
        )
        return frozenset(str(row[0]) for row in rows)


def expire(engine: sa.Engine, engine_id: str) -> list[str]:
    """Delete the expired leases of ``engine_id``; return their owners."""
    with engine.begin() as connection:
        now = db_now(connection)
        gone = _LEASES.c.engine_id == engine_id, _LEASES.c.expires_at <= now
        owners = [str(row[0]) for row in connection.execute(sa.select(_LEASES.c.id).where(*gone))]
        if owners:
            connection.execute(_LEASES.delete().where(_LEASES.c.id.in_(owners), *gone))
    return owners


class LeaseKeeper:
    """Renews one registered lease every ``lease_s / 3`` seconds until cancelled.

    A renewal that fails (the database is unreachable) is logged and retried sooner (see
    stepwell.background), so an outage shorter than the lease costs nothing. Once the last good
    renewal is older than ``lease_s`` it logs, once, that the lease may have expired; the next
    renewal that reaches the database tells: if the lease has expired (or is gone), ``on_lost`` is
    called once and renewing stops.
    """

    def __init__(
        self,
        engine: sa.Engine,
        owner: str,
        lease_s: float,
        on_lost: Callable[[], None],
    ) -> None:
        self._engine = engine
        self.owner = owner
        self.lease_s = lease_s
        self._on_lost = on_lost
        self.lost = False
        self.renewals = 0
        self._renewed = time.monotonic()
        self._warned = False

    async def run(self) -> None:
        """Renew until cancelled (a plain ``await`` in a task of the worker)."""

        async def one_pass() -> None:
            if self.lost:
                return
            overdue = time.monotonic() - self._renewed
            if overdue > self.lease_s and not self._warned:
                self._warned = True
                log.error(
                    "lease %s not renewed for %.0f s (longer than its %g s): other workers' "
                    "janitors may be removing this worker's containers",
                    self.owner, overdue, self.lease_s,
                )  # fmt: skip
            expires = await asyncio.to_thread(renew, self._engine, self.owner, self.lease_s)
            if expires is None:
                self.lost = True
                log.error(
                    "LEASE LOST: lease %s has expired or was deleted; its containers may be gone. "
                    "This worker stops taking work; restart it (it gets a fresh owner id).",
                    self.owner,
                )
                self._on_lost()
                return
            self.renewals += 1
            self._renewed = time.monotonic()
            self._warned = False

        await run_periodically(
            "lease", one_pass, every_s=self.lease_s / 3, log=log, first_retry_s=0.5, log_every_s=60
        )
