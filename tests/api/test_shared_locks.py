"""A flow's lock holds across API processes: two ``KeyedLocks`` with shared locks of their own
(as two processes have) on one database, PostgreSQL advisory locks or SQLite's lock files."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from ui_api.db import create_engine
from ui_api.errors import ApiError
from ui_api.locks import KeyedLocks
from ui_api.shared_locks import FileLocks, PostgresLocks, advisory_key, open_shared_locks


@pytest.fixture
def engine(empty_database: str) -> Iterator[sa.Engine]:
    engine = create_engine(empty_database)
    yield engine
    engine.dispose()


def _process(engine: sa.Engine, wait_s: float) -> KeyedLocks:
    """What one API process has: its own in-process locks and its own shared-lock handles."""
    shared = open_shared_locks(engine)
    assert isinstance(shared, PostgresLocks | FileLocks)
    return KeyedLocks(wait_s=wait_s, shared=shared)


async def test_a_held_flow_lock_stops_another_process_until_released(engine: sa.Engine) -> None:
    first, second = _process(engine, 30), _process(engine, 0.3)
    try:
        async with first.hold("flow:a"):
            with pytest.raises(ApiError) as refused:
                async with second.hold("flow:a"):
                    pytest.fail("two processes held one flow's lock")
            assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "5"
            async with second.hold("flow:b"):  # another flow: not held up
                pass
        entered = asyncio.Event()
        async with second.hold("flow:a"):  # released: the other process gets it
            entered.set()
        assert entered.is_set()
    finally:
        first.close()
        second.close()


async def test_a_waiter_gets_the_lock_when_the_holder_lets_go(engine: sa.Engine) -> None:
    first, second = _process(engine, 30), _process(engine, 30)
    order: list[str] = []
    try:
        holding = asyncio.Event()

        async def hold_then_release() -> None:
            async with first.hold("flow:x"):
                holding.set()
                order.append("first in")
                await asyncio.sleep(0)  # yield so the waiter is queued behind us
                order.append("first out")

        async def wait_for_it() -> None:
            await holding.wait()
            async with second.hold("flow:x"):
                order.append("second in")

        await asyncio.gather(hold_then_release(), wait_for_it())
        assert order == ["first in", "first out", "second in"]
    finally:
        first.close()
        second.close()


async def test_a_cancelled_waiter_leaves_no_lock_behind(engine: sa.Engine) -> None:
    first, second = _process(engine, 30), _process(engine, 30)
    try:
        async with first.hold("flow:c"):
            waiter = asyncio.create_task(_enter(second, "flow:c"))
            # the waiter is cancelled while queued or while its thread blocks on the lock: in both
            # cases nothing may stay held, so no moment needs to be waited for
            await asyncio.sleep(0.2)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
        # whatever the cancelled waiter's thread got, it gave back: a third process gets in
        third = _process(engine, 10)
        try:
            async with third.hold("flow:c"):
                pass
        finally:
            third.close()
    finally:
        first.close()
        second.close()


async def _enter(locks: KeyedLocks, key: str) -> None:
    async with locks.hold(key):
        pass


def test_advisory_ids_are_stable_signed_64_bit() -> None:
    assert advisory_key("flow:a") == advisory_key("flow:a") != advisory_key("flow:b")
    assert -(2**63) <= advisory_key("flow:a") < 2**63


def test_an_in_memory_database_has_no_shared_locks() -> None:
    assert open_shared_locks(sa.create_engine("sqlite://")) is None
