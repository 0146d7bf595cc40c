"""Warm pool behaviour with a stand-in container factory: handout, refills, recycling, keys.

The pool logic is what is under test here; real containers are in tests/sandbox/test_pool*.py.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any, cast

import pytest

from sandbox.containers import StartedContainer
from sandbox.errors import SandboxError
from sandbox.pool import PoolSettings, WarmPools
from sandbox.pool_keys import PoolKey, RecentUse
from step_sdk.manifest import Limits

KEY = PoolKey.of("sha256:base", Limits(), egress=False)
OTHER = PoolKey.of("sha256:layer", Limits(), egress=False)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Stand:
    """A container stand-in: an id, and whether it still waits."""

    def __init__(self, container_id: str) -> None:
        self.id = container_id
        self.alive = True
        self.lease = None

    def idle_and_alive(self) -> bool:
        return self.alive


class Factory:
    def __init__(self, gate: threading.Event | None = None) -> None:
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.made: list[Stand] = []
        self.discarded: list[str] = []
        self.gate = gate
        self.fail = False

    def fill(self, key: PoolKey) -> StartedContainer:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                assert self.gate.wait(10)
            if self.fail:
                raise SandboxError("the engine said no")
            stand = Stand(f"c{next(self.ids)}")
            with self.lock:
                self.made.append(stand)
            return cast(StartedContainer, stand)
        finally:
            with self.lock:
                self.in_flight -= 1

    def discard(self, container: StartedContainer) -> None:
        with self.lock:
            self.discarded.append(container.id)


@pytest.fixture
def factory() -> Factory:
    return Factory()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def pools(factory: Factory, clock: Clock, **settings: Any) -> WarmPools:
    return WarmPools(
        factory.fill,
        factory.discard,
        PoolSettings(**{"tick_s": 0.05, **settings}),
        clock=clock,
    )


@pytest.fixture
def made() -> Iterator[list[WarmPools]]:
    created: list[WarmPools] = []
    yield created
    for each in created:
        each.close()


def test_size_zero_is_the_cold_path(factory: Factory, clock: Clock) -> None:
    warm = pools(factory, clock, size=0)
    assert not warm.enabled
    assert warm.take(KEY) is None
    warm.maintain()
    assert factory.made == []
    assert warm.keeps_warm() == {}
    warm.close()


def test_a_used_key_gets_a_pool_and_a_container_is_handed_out_once(
    factory: Factory, clock: Clock, made: list[WarmPools]
) -> None:
    warm = pools(factory, clock, size=2)
    made.append(warm)
    assert warm.take(KEY) is None  # nothing warm yet: the caller goes cold, never waits
    assert warm.wait_ready(10)
    first, second = warm.take(KEY), warm.take(KEY)
    assert first is not None and second is not None and first.id != second.id
    stats = warm.stats()
    assert (stats["hits"], stats["misses"]) == (2, 1)
    assert warm.keeps_warm() == {KEY: 2}
    assert OTHER not in warm.keeps_warm()  # a key nobody used has no pool


def test_concurrent_takes_never_share_a_container(
    factory: Factory, clock: Clock, made: list[WarmPools]
) -> None:
    warm = pools(factory, clock, size=0, refill_concurrency=4)
    made.append(warm)
    warm.warm(KEY, 6)
    assert warm.wait_ready(10)
    taken: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(5):
            container = warm.take(KEY)
            if container is not None:
                with lock:
                    taken.append(container.id)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert taken and len(taken) == len(set(taken))


def test_refills_stay_within_their_concurrency(clock: Clock, made: list[WarmPools]) -> None:
    gate = threading.Event()
    factory = Factory(gate)
    warm = pools(factory, clock, size=0, refill_concurrency=2)
    made.append(warm)
    warm.warm(KEY, 5)
    warm.warm(OTHER, 3)
    warm.maintain()
    filling = [pool["filling"] for pool in warm.stats()["pools"].values()]
    assert sum(filling) == 2
    gate.set()
    assert warm.wait_ready(10)
    assert factory.most_in_flight <= 2
    assert len(factory.made) == 8


def test_idle_containers_are_recycled(
    factory: Factory, clock: Clock, made: list[WarmPools]
) -> None:
    warm = pools(factory, clock, size=0, idle_s=60)
    made.append(warm)
    warm.warm(KEY, 1)
    assert warm.wait_ready(10)
    old = factory.made[0].id
    clock.now += 61
    assert warm.take(KEY) is None  # too old to hand out: removed, and the caller goes cold
    assert old in factory.discarded
    assert warm.wait_ready(10)
    fresh = warm.take(KEY)
    assert fresh is not None and fresh.id != old
    assert warm.stats()["recycled"] == 1


def test_a_key_unused_for_a_while_loses_its_pool(
    factory: Factory, clock: Clock, made: list[WarmPools]
) -> None:
    warm = pools(factory, clock, size=1, keep_warm_s=100, idle_s=1000)
    made.append(warm)
    warm.take(OTHER)
    assert warm.wait_ready(10)
    assert warm.keeps_warm() == {OTHER: 1}
    clock.now += 101
    warm.maintain()
    assert warm.keeps_warm() == {}
    assert [stand.id for stand in factory.made] == factory.discarded


def test_recent_use_keeps_the_most_recent_keys_only(clock: Clock) -> None:
    use = RecentUse(keep_warm_s=100, max_keys=2, clock=clock)
    keys = [PoolKey.of(f"sha256:{n}", Limits(), egress=False) for n in range(3)]
    for key in keys:
        clock.now += 1
        use.record(key)
    assert use.wanted() == [keys[2], keys[1]]
    clock.now += 100  # keys[1] was used 101 s ago, keys[2] 100 s ago
    assert use.wanted() == [keys[2]]


def test_a_burst_of_rarely_used_keys_does_not_push_out_the_pool_everyone_uses(
    clock: Clock,
) -> None:
    """One tenant running a step once per memory size must not evict the default pool."""
    use = RecentUse(keep_warm_s=900, max_keys=2, clock=clock)
    default = PoolKey.of("sha256:base", Limits(), egress=False)
    for _ in range(20):
        clock.now += 1
        use.record(default)
    rare = [PoolKey.of("sha256:base", Limits(memory_mb=100 + n), egress=False) for n in range(6)]
    for key in rare:
        clock.now += 1
        use.record(key)
    assert use.wanted() == [default, rare[-1]]


def test_limits_classes_and_wiring_are_separate_pools() -> None:
    small = PoolKey.of("sha256:base", Limits(memory_mb=128), egress=False)
    wired = PoolKey.of("sha256:base", Limits(), egress=True)
    assert len({KEY, small, wired}) == 3
    assert small.limits().memory_mb == 128


def test_a_dead_container_is_never_handed_out(
    factory: Factory, clock: Clock, made: list[WarmPools]
) -> None:
    warm = pools(factory, clock, size=0)
    made.append(warm)
    warm.warm(KEY, 1)
    assert warm.wait_ready(10)
    dead = factory.made[0]
    dead.alive = False
    taken = warm.take(KEY)  # the maintenance thread may have replaced it already
    assert taken is None or taken.id != dead.id
    assert dead.id in factory.discarded
    assert warm.stats()["dead"] == 1


def test_a_container_that_dies_while_idle_is_replaced_before_its_idle_age(
    factory: Factory, clock: Clock, made: list[WarmPools]
) -> None:
    warm = pools(factory, clock, size=0, idle_s=300)
    made.append(warm)
    warm.warm(KEY, 1)
    assert warm.wait_ready(10)
    dead = factory.made[0]
    dead.alive = False
    warm.maintain()  # the clock has not moved: only its death can remove it
    assert dead.id in factory.discarded
    assert warm.wait_ready(10)  # and a live one takes its place
    taken = warm.take(KEY)
    assert taken is not None and taken.id != dead.id


def test_failed_fills_back_off_instead_of_spinning(factory: Factory, clock: Clock) -> None:
    factory.fail = True
    warm = pools(factory, clock, size=0, refill_concurrency=1)
    warm.warm(KEY, 1)
    assert not warm.wait_ready(0.5)
    attempts = warm.stats()["fill_failures"]
    assert attempts == 1  # the clock stands still: no retry before the back-off passes
    factory.fail = False
    clock.now += 60
    assert warm.wait_ready(10)
    warm.close()


def test_close_drains_and_hands_out_nothing(factory: Factory, clock: Clock) -> None:
    warm = pools(factory, clock, size=0)
    warm.warm(KEY, 3)
    assert warm.wait_ready(10)
    warm.close()
    assert sorted(factory.discarded) == sorted(stand.id for stand in factory.made)
    assert warm.take(KEY) is None
    warm.close()  # idempotent
