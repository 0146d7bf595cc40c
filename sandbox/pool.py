"""Single-use warm pools: started, hardened containers waiting for an envelope.

A pool per :class:`~sandbox.pool_keys.PoolKey` holds containers whose runner said ``READY``.
:meth:`WarmPools.take` hands one out atomically (popped under the lock, so at most one caller
ever gets it); it never comes back: whoever took it removes it after use or on failure. An
empty pool returns ``None`` at once and the caller takes the cold path: nobody ever waits for a
refill.

One maintenance thread keeps the pools at their targets: ``size`` containers for each key used
within ``keep_warm_s`` (at most ``max_keys`` keys), or what :meth:`WarmPools.warm` pinned.
Refills run on at most ``refill_concurrency`` threads so they never crowd out running steps;
containers idle longer than ``idle_s`` are recycled; a key nobody used lately loses its pool.
:meth:`close` drains everything (the worker calls it on SIGTERM).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sandbox.containers import StartedContainer
from sandbox.errors import SandboxError
from sandbox.pool_keys import PoolKey, RecentUse

log = logging.getLogger("stepwell.pool")
# Makes one container for a key, started and READY; raises SandboxError.
Fill = Callable[[PoolKey], StartedContainer]
# Removes a container that will never be used (idle too long, dead, drained).
Discard = Callable[[StartedContainer], None]
_MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class PoolSettings:
    """How many containers to keep warm, for how long, and how fast to refill.

    ``size`` 0 disables the pools (every execution takes the cold path) unless :meth:`warm`
    pins a key.
    """

    size: int = 0
    idle_s: float = 300.0
    refill_concurrency: int = 1
    keep_warm_s: float = 900.0
    max_keys: int = 4
    tick_s: float = 1.0


@dataclass
class _Idle:
    container: StartedContainer
    ready_at: float


class WarmPools:
    """The worker's warm pools. Thread-safe."""

    def __init__(
        self,
        fill: Fill,
        discard: Discard,
        settings: PoolSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or PoolSettings()
        self._fill = fill
        self._discard = discard
        self._clock = clock
        self._cond = threading.Condition()
        self._idle: dict[PoolKey, deque[_Idle]] = {}
        self._filling: dict[PoolKey, int] = {}
        self._pinned: dict[PoolKey, int] = {}
        self._retry_at: dict[PoolKey, float] = {}
        self._failures: dict[PoolKey, int] = {}
        self._use = RecentUse(self.settings.keep_warm_s, self.settings.max_keys, clock)
        self._counts = {"hits": 0, "misses": 0, "filled": 0, "fill_failures": 0,
                        "recycled": 0, "dead": 0}  # fmt: skip
        self._closed = False
        self._announced: set[PoolKey] = set()
        self._thread: threading.Thread | None = None
        self._executor = ThreadPoolExecutor(
            max(1, self.settings.refill_concurrency), thread_name_prefix="stepwell-refill"
        )

    @property
    def enabled(self) -> bool:
        return self.settings.size > 0 or bool(self._pinned)

    def take(self, key: PoolKey) -> StartedContainer | None:
        """The key's oldest ready container, removed from the pool; ``None`` when empty.

        Records the use (so the key gets a pool) whether or not one was there.
        """
        stale: list[StartedContainer] = []
        taken = None
        with self._cond:
            if self._closed:
                return None
            self._use.record(key)
            pool = self._idle.get(key)
            now = self._clock()
            while pool and taken is None:
                entry = pool.popleft()
                if now - entry.ready_at > self.settings.idle_s:
                    self._counts["recycled"] += 1
                    stale.append(entry.container)
                elif not entry.container.idle_and_alive():
                    self._counts["dead"] += 1
                    stale.append(entry.container)
                else:
                    taken = entry.container
            self._counts["hits" if taken is not None else "misses"] += 1
            self._cond.notify_all()
        self._discard_all(stale)
        self._ensure_thread()
        return taken

    def expect(self, keys: list[PoolKey]) -> None:
        """Count ``keys`` as used now, last first (a starting worker's guess at what comes)."""
        with self._cond:
            for key in reversed(keys):
                self._use.record(key)
            self._cond.notify_all()
        self._ensure_thread()

    def warm(self, key: PoolKey, count: int) -> None:
        """Keep ``count`` containers of ``key`` ready regardless of use (0 unpins the key)."""
        with self._cond:
            if count > 0:
                self._pinned[key] = count
            else:
                self._pinned.pop(key, None)
            self._cond.notify_all()
        self._ensure_thread()

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait until every pool is at its target; False if ``timeout_s`` passed first."""
        give_up = time.monotonic() + timeout_s
        with self._cond:
            while not self._closed:
                targets = self._targets()
                if all(len(self._idle.get(k, ())) >= n for k, n in targets.items()):
                    return True
                left = give_up - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return False

    def keeps_warm(self) -> dict[PoolKey, int]:
        """Each key that has a pool now, with its target size."""
        with self._cond:
            return self._targets()

    def stats(self) -> dict[str, Any]:
        """Counters (hits, misses, filled, fill_failures, recycled, dead) and, per pool, its
        idle and filling containers and target."""
        with self._cond:
            targets = self._targets()
            keys = set(targets) | set(self._idle) | set(self._filling)
            pools = {
                key.describe(): {
                    "idle": len(self._idle.get(key, ())),
                    "filling": self._filling.get(key, 0),
                    "target": targets.get(key, 0),
                }
                for key in sorted(keys)
            }
            return {**self._counts, "pools": pools, "settings": vars(self.settings)}

    def close(self) -> None:
        """Stop refilling and remove every idle container; fills under way are removed when
        they finish. Idempotent."""
        with self._cond:
            self._closed = True
            idle = [entry.container for pool in self._idle.values() for entry in pool]
            self._idle.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
        self._discard_all(idle)
        self._executor.shutdown(wait=True)

    def maintain(self) -> None:
        """One maintenance pass: recycle old and unwanted containers, start missing refills."""
        stale: list[StartedContainer] = []
        with self._cond:
            if self._closed:
                return
            now = self._clock()
            targets = self._targets()
            self._announce(targets)
            for key, pool in list(self._idle.items()):
                keep = targets.get(key, 0)
                while pool and (now - pool[0].ready_at > self.settings.idle_s or len(pool) > keep):
                    stale.append(pool.popleft().container)
                    self._counts["recycled"] += 1
                # a container that died while idle is replaced now, not at its idle age (the
                # check is local: its attach stream has closed)
                for entry in [e for e in pool if not e.container.idle_and_alive()]:
                    pool.remove(entry)
                    stale.append(entry.container)
                    self._counts["dead"] += 1
                if not pool:
                    del self._idle[key]
            in_flight = sum(self._filling.values())
            for key, target in targets.items():
                while (
                    in_flight < self.settings.refill_concurrency
                    and len(self._idle.get(key, ())) + self._filling.get(key, 0) < target
                    and self._retry_at.get(key, 0.0) <= now
                ):
                    self._filling[key] = self._filling.get(key, 0) + 1
                    in_flight += 1
                    self._executor.submit(self._fill_one, key)
        self._discard_all(stale)

    def _announce(self, targets: dict[PoolKey, int]) -> None:
        """Log each pool as it starts and stops being kept warm (the worker's log says what
        it keeps warm as that changes with use)."""
        for key in sorted(set(targets) - self._announced):
            log.info("keeping warm: %s, %d containers", key.describe(), targets[key])
        for key in sorted(self._announced - set(targets)):
            log.info("no longer keeping warm (unused): %s", key.describe())
        self._announced = set(targets)

    def _targets(self) -> dict[PoolKey, int]:
        targets = {}
        if self.settings.size:
            targets = {key: self.settings.size for key in self._use.wanted()}
        targets.update(self._pinned)
        return {key: n for key, n in targets.items() if n > 0}

    def _fill_one(self, key: PoolKey) -> None:
        container = None
        try:
            container = self._fill(key)
        except SandboxError as exc:
            log.warning("refilling the pool %s failed: %s", key.describe(), exc)
        except Exception:  # a refill must never take the maintenance down with it
            log.exception("refilling the pool %s failed", key.describe())
        with self._cond:
            self._filling[key] -= 1
            if not self._filling[key]:
                del self._filling[key]
            if container is None:
                self._counts["fill_failures"] += 1
                failures = self._failures.get(key, 0) + 1
                self._failures[key] = failures
                self._retry_at[key] = self._clock() + min(_MAX_BACKOFF_S, 0.5 * 2**failures)
            else:
                self._failures.pop(key, None)
                self._retry_at.pop(key, None)
                if not self._closed and key in self._targets():
                    self._idle.setdefault(key, deque()).append(_Idle(container, self._clock()))
                    self._counts["filled"] += 1
                    container = None
            self._cond.notify_all()
        if container is not None:
            self._discard_all([container])

    def _ensure_thread(self) -> None:
        with self._cond:
            if self._closed or self._thread is not None or not self.enabled:
                return
            self._thread = threading.Thread(target=self._loop, name="stepwell-pool", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._is_closed():
            self.maintain()
            with self._cond:
                if not self._closed:
                    self._cond.wait(self.settings.tick_s)

    def _is_closed(self) -> bool:
        with self._cond:
            return self._closed

    def _discard_all(self, containers: list[StartedContainer]) -> None:
        for container in containers:
            try:
                self._discard(container)
            except Exception:  # removal is best effort here; the janitor catches the rest
                log.exception("removing pooled container %s failed", container.id[:12])
