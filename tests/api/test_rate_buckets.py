"""The rate limiter's buckets in the database (``ui_api.auth.ratelimit``), on SQLite and PostgreSQL:
one statement per take, so racing takers never spend more than the bucket holds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from ui_api.auth.ratelimit import RateLimiter
from ui_api.db import create_engine, migrate


@pytest.fixture
def engine(empty_database: str) -> Iterator[sa.Engine]:
    engine = create_engine(empty_database)
    migrate(engine)
    yield engine
    engine.dispose()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rows(engine: sa.Engine) -> dict[str, tuple[float, float]]:
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT key, tokens, updated_at FROM rate_bucket"))
        return {key: (tokens, updated) for key, tokens, updated in found}


def test_a_bucket_spends_its_burst_then_refuses_and_refills(engine: sa.Engine) -> None:
    clock = Clock(1000.0)
    limiter = RateLimiter(engine, "api_key", rate=0.5, burst=3, clock=clock)
    decisions = [limiter.take("k1") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert [d.reset_s for d in decisions] == [2, 4, 6, 6]
    assert decisions[-1].retry_after_s == 2 and decisions[-1].headers()["Retry-After"] == "2"
    assert "Retry-After" not in decisions[0].headers()
    # a refused take leaves the row as it was: the refill is counted from the last spend
    assert rows(engine)["api_key:k1"] == (0.0, 1000.0)
    clock.now = 1001.0  # half a token back: still refused, one second to go
    refused = limiter.take("k1")
    assert not refused.allowed and refused.retry_after_s == 1
    clock.now = 1002.0
    assert limiter.take("k1").allowed
    # another key, and the same key of another limiter, have buckets of their own
    assert limiter.take("k2").remaining == 2
    assert RateLimiter(engine, "webhook", rate=0.5, burst=3, clock=clock).take("k1").allowed


def test_a_clock_that_steps_back_neither_adds_nor_removes_tokens(engine: sa.Engine) -> None:
    clock = Clock(5000.0)
    limiter = RateLimiter(engine, "api_key", rate=1.0, burst=2, clock=clock)
    assert limiter.take("k").remaining == 1
    clock.now = 4000.0  # back by 1000 s: elapsed counts as zero, updated_at stays at 5000
    assert limiter.take("k").remaining == 0
    assert rows(engine)["api_key:k"] == (0.0, 5000.0)
    assert not limiter.take("k").allowed
    clock.now = 5001.0  # one second after the newest time seen: one token
    assert limiter.take("k").allowed
    assert not limiter.take("k").allowed


def test_the_database_clock_is_unix_seconds(engine: sa.Engine) -> None:
    before = time.time()
    RateLimiter(engine, "api_key", rate=1.0, burst=5).take("k")
    stamped = rows(engine)["api_key:k"][1]
    # generous: the database's clock and ours are both the host's here
    assert before - 5 < stamped < time.time() + 5


def test_racing_threads_get_exactly_the_burst(engine: sa.Engine) -> None:
    burst, threads, each = 5, 12, 4
    limiter = RateLimiter(engine, "api_key", rate=1e-9, burst=burst)
    allowed: list[bool] = []
    start = threading.Barrier(threads)
    guard = threading.Lock()

    def race() -> None:
        start.wait()
        for _ in range(each):
            decision = limiter.take("last-token")
            with guard:
                allowed.append(decision.allowed)

    workers = [threading.Thread(target=race) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(allowed) == threads * each
    assert allowed.count(True) == burst
    assert rows(engine)["api_key:last-token"][0] < 1.0


def test_prune_removes_only_this_limiters_full_buckets(engine: sa.Engine) -> None:
    clock = Clock(100.0)
    keys = RateLimiter(engine, "api_key", rate=1.0, burst=2, clock=clock)
    hooks = RateLimiter(engine, "webhook", rate=1.0, burst=2, clock=clock)
    keys.take("idle")
    keys.take("busy")
    hooks.take("idle")
    clock.now = 101.0  # 'idle' of api_key is full again (one token back); spend on 'busy'
    keys.take("busy")
    assert keys.prune() == 1
    assert set(rows(engine)) == {"api_key:busy", "webhook:idle"}
    # a pruned bucket is a full one: the key starts over with the whole burst
    assert keys.take("idle").remaining == 1


def test_take_prunes_at_most_once_per_interval(engine: sa.Engine) -> None:
    clock = Clock(100.0)
    limiter = RateLimiter(engine, "api_key", rate=1.0, burst=1, clock=clock, prune_every_s=0)
    limiter.take("old")
    clock.now = 200.0
    limiter.take("new")  # this take prunes 'old', full since t=101
    assert set(rows(engine)) == {"api_key:new"}


def test_an_unreachable_database_fails_the_take(tmp_path_factory: pytest.TempPathFactory) -> None:
    # nothing listens on port 9; the request must fail, not pass unlimited
    engine = create_engine("postgresql://postgres@127.0.0.1:9/none?connect_timeout=2")
    limiter = RateLimiter(engine, "api_key", rate=1.0, burst=5)
    with pytest.raises(sa.exc.OperationalError):
        limiter.take("k")
    engine.dispose()


def test_bad_limits_are_refused(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="'api_key': rate must be > 0"):
        RateLimiter(engine, "api_key", rate=0, burst=1)
