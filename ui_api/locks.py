"""Per-key asyncio locks: one change at a time to what a key guards, within this process."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ui_api.errors import ApiError


class KeyedLocks:
    """An asyncio lock per key, made on first use and dropped once nobody holds or waits for it.

    Changes that touch both the database and Temporal (a flow's schedules) are not atomic
    across the two; holding the flow's lock from planning to commit keeps two such changes
    in one API process from interleaving, so Temporal ends as the last committed change says.
    The key is the flow's id: changes to different flows never wait for each other.
    """

    def __init__(self, wait_s: float = 30) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._wait_s = wait_s

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold ``key``'s lock for the block.

        Raises:
            ApiError: 503 (with ``Retry-After``) after waiting ``wait_s`` seconds for it.
        """
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        try:
            async with asyncio.timeout(self._wait_s):
                await lock.acquire()
        except TimeoutError:
            raise ApiError(
                503, "other changes to the same flow are still being applied; retry",
                headers={"Retry-After": "5"},
            ) from None  # fmt: skip
        try:
            yield
        finally:
            lock.release()
