"""What one rate-limit take costs: the database buckets against the old in-memory limiter.

Each limiter spends tokens of one key (a huge burst, so every take is a granted spend, the
common case) from 1 thread and then from T threads; printed: microseconds per take (mean, p50,
p99 of single-thread takes) and takes per second with T threads. Backends: the in-memory token
bucket the API used before (kept below as the baseline, the same arithmetic), SQLite (a file in a
temporary directory, WAL, as the API opens it) and PostgreSQL (a database made for the run and
dropped after) when ``--postgres-url`` names a server whose user may create databases.

``bench/api_load.py`` prints this table after its phases; alone:

    .venv/bin/python bench/limiter_cost.py [--takes N] [--threads T] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import math
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from ui_api.auth.ratelimit import RateLimiter
from ui_api.db import create_engine, migrate


class InMemoryBuckets:
    """The per-process limiter the API had before the buckets moved to the database."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        math.ceil((self.burst - tokens) / self.rate)  # the headers' arithmetic, as before
        return allowed


def measure(take: Callable[[str], object], takes: int, threads: int) -> tuple[list[float], float]:
    """Single-thread take latencies (s), then takes per second from ``threads`` threads."""
    for _ in range(20):  # warm-up: connections, statement caches
        take("warm")
    latencies = []
    for _ in range(takes):
        started = time.perf_counter()
        take("one-key")
        latencies.append(time.perf_counter() - started)
    each = max(1, takes // threads)
    start = threading.Barrier(threads + 1)

    def spend() -> None:
        start.wait()
        for _ in range(each):
            take("one-key")

    workers = [threading.Thread(target=spend) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return latencies, each * threads / (time.perf_counter() - began)


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"stepwell_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def table(takes: int, threads: int, postgres_url: str | None) -> list[str]:
    """The measurements as printed lines."""
    burst = 10**12  # never empty: every take is a granted spend
    rows: list[tuple[str, Callable[[str], object]]] = [
        ("in-memory (before)", InMemoryBuckets(1.0, burst).take)
    ]
    lines = [
        f"{'rate-limit take':<26}{'mean us':>9}{'p50 us':>9}{'p99 us':>9}"
        f"{f'takes/s x{threads}':>16}",
        "-" * 69,
    ]
    with tempfile.TemporaryDirectory(prefix="stepwell-limiter-") as directory:
        sqlite = create_engine(f"sqlite:///{Path(directory) / 'bench.db'}")
        migrate(sqlite)
        rows.append(("database: SQLite", RateLimiter(sqlite, "bench", 1.0, burst).take))
        with _maybe_postgres(postgres_url) as postgres:
            if postgres is not None:
                rows.append(
                    ("database: PostgreSQL", RateLimiter(postgres, "bench", 1.0, burst).take)
                )
            for name, take in rows:
                latencies, per_s = measure(take, takes, threads)
                quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
                lines.append(
                    f"{name:<26}{statistics.fmean(latencies) * 1e6:>9.0f}"
                    f"{quantiles[49] * 1e6:>9.0f}{quantiles[98] * 1e6:>9.0f}{per_s:>16.0f}"
                )
        sqlite.dispose()
    return lines


@contextmanager
def _maybe_postgres(url: str | None) -> Iterator[sa.Engine | None]:
    if url is None:
        yield None
        return
    with postgres_database(url) as database:
        engine = create_engine(database)
        migrate(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--takes", type=int, default=2000, help="per backend (default 2000)")
    parser.add_argument("--threads", type=int, default=8, help="concurrent takers (default 8)")
    parser.add_argument("--postgres-url", help="a server whose user may create databases")
    args = parser.parse_args(argv)
    if args.takes < 2 or args.threads < 1:
        parser.error("--takes must be at least 2 and --threads positive")
    print("\n".join(table(args.takes, args.threads, args.postgres_url)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
