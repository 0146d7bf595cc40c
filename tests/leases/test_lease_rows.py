"""Leases and layer uses in the database (stepwell.leases, stepwell.layer_uses), on both kinds."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import sqlalchemy as sa

from stepwell import leases
from stepwell.layer_uses import LayerUseRecorder, recently_used, record_use
from ui_api.fleet.models import LayerUse, WorkerLease

ENGINE = "TEST:ENGINE:" + "X" * 8


def _expire_now(engine: sa.Engine, owner: str) -> None:
    """Make ``owner``'s lease expired by the database's clock (as if renewals stopped)."""
    table = WorkerLease.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        past = leases.db_now(connection) - timedelta(seconds=1)
        connection.execute(table.update().where(table.c.id == owner).values(expires_at=past))


def test_owner_ids_are_unique_per_process_and_never_look_like_a_pid_owner() -> None:
    first, second = leases.new_owner_id(), leases.new_owner_id()
    assert first != second
    long = leases.new_owner_id(hostname="h" * 300 + ":9", pid=2**22)
    assert len(long) <= 64 and ":" not in long


def test_a_registered_lease_is_live_renewable_and_released(fleet_engine: sa.Engine) -> None:
    owner = leases.new_owner_id()
    expires = leases.register(fleet_engine, owner, ENGINE, lease_s=30)
    assert owner in leases.live_owners(fleet_engine, ENGINE)
    assert owner not in leases.live_owners(fleet_engine, "another engine")
    renewed = leases.renew(fleet_engine, owner, lease_s=30)
    assert renewed is not None and renewed >= expires
    leases.release(fleet_engine, owner)
    assert owner not in leases.live_owners(fleet_engine, ENGINE)


def test_an_expired_lease_is_not_renewed_and_is_deleted_by_expire(fleet_engine: sa.Engine) -> None:
    """Once expired, a janitor may be removing the owner's containers: renewing would lie."""
    dead, live = leases.new_owner_id(), leases.new_owner_id()
    leases.register(fleet_engine, dead, ENGINE, lease_s=30)
    leases.register(fleet_engine, live, ENGINE, lease_s=30)
    _expire_now(fleet_engine, dead)
    assert leases.live_owners(fleet_engine, ENGINE) == {live}
    assert leases.renew(fleet_engine, dead, lease_s=30) is None
    assert leases.expire(fleet_engine, "another engine") == []
    assert leases.expire(fleet_engine, ENGINE) == [dead]
    assert leases.renew(fleet_engine, dead, lease_s=30) is None, "a deleted lease stays lost"
    assert leases.live_owners(fleet_engine, ENGINE) == {live}


def test_leases_are_timed_by_the_database_clock(fleet_engine: sa.Engine) -> None:
    with fleet_engine.connect() as connection:
        now = leases.db_now(connection)
    assert abs(now.timestamp() - time.time()) < 60  # this machine runs the database too
    owner = leases.new_owner_id()
    expires = leases.register(fleet_engine, owner, ENGINE, lease_s=30)
    assert timedelta(seconds=29) < expires - now < timedelta(seconds=40)


async def test_the_keeper_calls_on_lost_once_when_its_lease_has_expired(
    fleet_engine: sa.Engine,
) -> None:
    owner = leases.new_owner_id()
    leases.register(fleet_engine, owner, ENGINE, lease_s=30)
    _expire_now(fleet_engine, owner)
    lost: list[str] = []
    keeper = leases.LeaseKeeper(fleet_engine, owner, 3, on_lost=lambda: lost.append(owner))
    task = asyncio.create_task(keeper.run())
    try:
        deadline = time.monotonic() + 10
        while not lost:
            assert time.monotonic() < deadline, "on_lost never called"
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    assert lost == [owner] and keeper.lost and keeper.renewals == 0


def test_layer_uses_are_recorded_once_a_minute_per_key_and_read_by_age(
    fleet_engine: sa.Engine,
) -> None:
    recorder = LayerUseRecorder(fleet_engine, ENGINE)
    recorder("key-a")
    recorder("key-a")
    recorder("key-b")
    assert recorder.flush() == 2
    recorder("key-a")  # noted a moment ago: not again
    assert recorder.flush() == 0
    assert recently_used(fleet_engine, ENGINE, max_age_s=3600) == {"key-a", "key-b"}
    assert recently_used(fleet_engine, "another engine", max_age_s=3600) == set()
    table = LayerUse.__table__  # type: ignore[attr-defined]
    with fleet_engine.begin() as connection:
        old = leases.db_now(connection) - timedelta(days=30)
        stale = table.update().where(table.c.layer_key == "key-b")
        connection.execute(stale.values(last_used_at=old))
    assert recently_used(fleet_engine, ENGINE, max_age_s=14 * 86400) == {"key-a"}
    record_use(fleet_engine, ENGINE, "key-b")  # used again: fresh
    assert recently_used(fleet_engine, ENGINE, max_age_s=14 * 86400) == {"key-a", "key-b"}


def test_a_lease_not_renewed_expires_by_itself(fleet_engine: sa.Engine) -> None:
    owner = leases.new_owner_id()
    leases.register(fleet_engine, owner, ENGINE, lease_s=0.5)
    deadline = time.monotonic() + 10
    while owner in leases.live_owners(fleet_engine, ENGINE):
        assert time.monotonic() < deadline, "a half-second lease never expired"
        time.sleep(0.05)
    assert leases.expire(fleet_engine, ENGINE) == [owner]
