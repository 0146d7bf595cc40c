"""Token buckets per caller (API key, webhook) in the database, and the headers that describe them.

Every API process of an installation shares one database, so the buckets live there (table
``rate_bucket``, migration 0004): N processes behind a load balancer enforce each limit once.
The database is the one shared component every deployment already runs (no Redis to add).

A take is ONE statement, ``INSERT … ON CONFLICT (key) DO UPDATE … WHERE <a token is there>
RETURNING tokens`` (PostgreSQL ≥ 9.5, SQLite ≥ 3.35): the row is locked while the refill and the
spend are computed, so two processes never both spend the last token. A row comes back when a
token was spent; none when the bucket is empty (the row is left as it was: the refill is
computed lazily from ``updated_at``), and then a plain read gives the numbers for the headers.

Clock: the database's (``now()`` on PostgreSQL: the statement's transaction start; ``julianday
('now')`` on SQLite), as Unix seconds. One clock for every API process: a skewed host clock can
neither refill buckets early nor starve them. A monotonic guard keeps the arithmetic sane when
the database's clock (or the order of concurrent transactions' start times) steps back: elapsed
time is never negative and ``updated_at`` never moves backwards. Tests may pass ``clock`` (Unix
seconds) to make time stand still.

Headers follow the IETF draft "RateLimit header fields for HTTP"
(draft-ietf-httpapi-ratelimit-headers, the separate-fields form of its earlier revisions):
``RateLimit-Limit`` (bucket size), ``RateLimit-Remaining`` (whole tokens left),
``RateLimit-Reset`` (seconds until the bucket is full again), plus ``Retry-After`` (RFC 9110
§10.2.3: seconds until one token is back) on a 429.

Rows do not grow without bound: a bucket that has refilled to full means the same as no row (a
new key starts full), so :meth:`RateLimiter.prune` deletes those of its limiter; ``take`` calls it
at most once per ``prune_every_s`` per process.

Errors: a database that cannot be reached raises :class:`sqlalchemy.exc.OperationalError` from
``take``; the request fails as any other database-backed request does (500), never unlimited.
``take`` blocks on the database: call it off the event loop (a plain ``def`` dependency, or
``await limiter.take_async(...)``).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ui_api.fleet.models import RateBucket


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    retry_after_s: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers


_BUCKET = RateBucket.__table__  # type: ignore[attr-defined]


def _statements(dialect: str, injected_clock: bool, name: str) -> tuple[sa.Executable, ...]:
    """(take, peek, prune) of limiter ``name`` in this SQL dialect; ``now`` is a bind parameter
    when the clock is injected."""
    bucket = _BUCKET.c
    hi: Callable[..., Any]  # two-argument max and min: greatest/least, or SQLite's max/min
    lo: Callable[..., Any]
    if dialect == "postgresql":
        insert: Callable[..., Any] = postgresql.insert
        now: sa.ColumnElement[float] = sa.cast(sa.extract("epoch", sa.func.now()), sa.Double)
        hi, lo = sa.func.greatest, sa.func.least
    elif dialect == "sqlite":
        insert = sqlite.insert
        now = (sa.func.julianday("now") - 2440587.5) * 86400.0
        hi, lo = sa.func.max, sa.func.min
    else:
        raise ValueError(f"rate limits: unsupported database dialect {dialect!r}")
    if injected_clock:
        now = sa.bindparam("now", type_=sa.Double)
    burst = sa.bindparam("burst", type_=sa.Double)
    rate = sa.bindparam("rate", type_=sa.Double)
    elapsed = hi(now - bucket.updated_at, sa.literal(0.0))
    refilled = lo(burst, bucket.tokens + elapsed * rate)
    take = (
        insert(_BUCKET)
        .values(key=sa.bindparam("key"), tokens=burst - 1.0, updated_at=now)
        .on_conflict_do_update(
            index_elements=[bucket.key],
            set_={"tokens": refilled - 1.0, "updated_at": hi(bucket.updated_at, now)},
            where=refilled >= 1.0,
        )
        .returning(bucket.tokens)
    )
    peek = sa.select(refilled).where(bucket.key == sa.bindparam("key"))
    prune = sa.delete(_BUCKET).where(
        bucket.key.startswith(f"{name}:", autoescape=True),
        bucket.tokens + elapsed * rate >= burst,
    )
    return take, peek, prune


class RateLimiter:
    """One token bucket per key in table ``rate_bucket``: ``burst`` tokens, refilled at ``rate``
    per second. ``name`` prefixes the keys (``'<name>:<key>'``), one limiter per name."""

    def __init__(
        self,
        engine: sa.Engine,
        name: str,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] | None = None,
        prune_every_s: float = 60.0,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate limiter {name!r}: rate must be > 0 and burst >= 1")
        self.engine = engine
        self.name = name
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._take, self._peek, self._prune = _statements(
            engine.dialect.name, clock is not None, name
        )
        self._prune_every_s = prune_every_s
        self._next_prune = time.monotonic() + prune_every_s
        self._prune_lock = threading.Lock()

    def _params(self, key: str) -> dict[str, object]:
        params: dict[str, object] = {"key": f"{self.name}:{key}", "burst": float(self.burst)}
        params["rate"] = self.rate
        if self._clock is not None:
            params["now"] = self._clock()
        return params

    def take(self, key: str) -> Decision:
        """Spend one token of ``key``'s bucket if there is one (blocks on the database).

        Raises:
            sqlalchemy.exc.OperationalError: the database cannot be reached.
        """
        params = self._params(key)
        with self.engine.begin() as connection:
            spent = connection.execute(self._take, params).scalar_one_or_none()
        if spent is None:
            with self.engine.connect() as connection:
                left = connection.execute(self._peek, params).scalar_one_or_none()
            # a prune may have removed the row in between: then the bucket is full
            tokens, allowed = (float(self.burst) if left is None else float(left)), False
        else:
            tokens, allowed = float(spent), True
        self._maybe_prune()
        return Decision(
            allowed=allowed,
            limit=self.burst,
            remaining=max(0, int(tokens)),
            reset_s=max(0, math.ceil((self.burst - tokens) / self.rate)),
            retry_after_s=0 if allowed else max(1, math.ceil((1.0 - tokens) / self.rate)),
        )

    async def take_async(self, key: str, executor: Executor) -> Decision:
        """:meth:`take` on a thread of ``executor``: the event loop never waits on the database."""
        return await asyncio.get_running_loop().run_in_executor(executor, self.take, key)

    def prune(self) -> int:
        """Delete this limiter's buckets that have refilled to full; return how many."""
        params = self._params("")
        with self.engine.begin() as connection:
            return connection.execute(self._prune, params).rowcount

    def _maybe_prune(self) -> None:
        if time.monotonic() < self._next_prune or not self._prune_lock.acquire(blocking=False):
            return
        try:
            self._next_prune = time.monotonic() + self._prune_every_s
            self.prune()
        finally:
            self._prune_lock.release()
