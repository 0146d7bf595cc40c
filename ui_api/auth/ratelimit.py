"""Token buckets per caller (API key, webhook), and the headers that describe them.

Headers follow the IETF draft: ``RateLimit-Limit`` (bucket size), ``RateLimit-Remaining``
(whole tokens left), ``RateLimit-Reset`` (seconds until the bucket is full again), plus
``Retry-After`` (seconds until one token is back) on a 429. Buckets live in this process: with
several API replicas each replica enforces the limit on its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


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


class RateLimiter:
    """One token bucket per key: ``burst`` tokens, refilled at ``rate`` per second."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> Decision:
        """Spend one token of ``key``'s bucket if there is one."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        missing_for_one = 0.0 if allowed else 1.0 - tokens
        return Decision(
            allowed=allowed,
            limit=self.burst,
            remaining=int(tokens),
            reset_s=math.ceil((self.burst - tokens) / self.rate),
            retry_after_s=max(1, math.ceil(missing_for_one / self.rate)) if not allowed else 0,
        )
