"""Per-key asyncio locks: one change at a time to what a key guards, within this process."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLocks:
    """An asyncio lock per key, made on first use and dropped once nobody holds or waits for it.

    Changes that touch both the database and Temporal (a flow's schedules) are not atomic
    across the two; holding the workspace's lock from planning to commit keeps two such changes
    in one API process from interleaving, so Temporal ends as the last committed change says.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield
