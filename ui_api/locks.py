"""Per-key locks: one change at a time to what a key guards, across every API process."""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager

from ui_api.errors import ApiError
from ui_api.shared_locks import POOL, LockTimeout, SharedLocks


def _busy() -> ApiError:
    return ApiError(
        503, "other changes to the same flow are still being applied; retry",
        headers={"Retry-After": "5"},
    )  # fmt: skip


class KeyedLocks:
    """An asyncio lock per key, then the key's lock shared by every API process on the database.

    Changes that touch both the database and Temporal (a flow's schedules) are not atomic
    across the two; holding the flow's lock from planning to commit keeps two such changes
    from interleaving, in one process or in several, so Temporal ends as the last committed
    change says. The key is the flow's id: changes to different flows never wait for each other.

    The in-process asyncio lock comes first, so one process holds at most one shared lock (one
    database connection, see :mod:`ui_api.shared_locks`) per key; the asyncio lock is made on
    first use and dropped once nobody holds or waits for it. ``shared`` None: this process only
    (an in-memory SQLite database, which no other process can open). The shared lock is taken
    and released on threads of its own: the event loop never waits on it.
    """

    def __init__(self, wait_s: float = 30, shared: SharedLocks | None = None) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._wait_s = wait_s
        self._shared = shared
        self._threads = ThreadPoolExecutor(POOL, thread_name_prefix="stepwell-locks")

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold ``key``'s lock for the block.

        Raises:
            ApiError: 503 (with ``Retry-After``) when both locks cannot be had within
                ``wait_s`` seconds in all.
        """
        deadline = time.monotonic() + self._wait_s
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        try:
            async with asyncio.timeout(self._wait_s):
                await lock.acquire()
        except TimeoutError:
            raise _busy() from None
        try:
            handle = await self._acquire_shared(key, deadline - time.monotonic())
            try:
                yield
            finally:
                if self._shared is not None:
                    release = self._threads.submit(self._shared.release, handle)
                    await asyncio.shield(asyncio.wrap_future(release))
        finally:
            lock.release()

    async def _acquire_shared(self, key: str, wait_s: float) -> object:
        if self._shared is None:
            return None
        shared = self._shared
        taking = self._threads.submit(shared.acquire, key, max(wait_s, 0.0))
        try:
            return await asyncio.shield(asyncio.wrap_future(taking))
        except LockTimeout:
            raise _busy() from None
        except BaseException:
            # cancelled while the thread waits: whatever it gets is let go at once
            def let_go(done: Future[object]) -> None:
                if not done.cancelled() and done.exception() is None:
                    shared.release(done.result())

            taking.add_done_callback(let_go)
            raise

    def close(self) -> None:
        """Stop the lock threads and close the shared locks' connections."""
        self._threads.shutdown(wait=False)
        if self._shared is not None:
            with contextlib.suppress(Exception):
                self._shared.close()
