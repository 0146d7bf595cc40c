"""One build per key at a time, across threads and processes sharing a cache directory."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

_guard = threading.Lock()
_thread_locks: dict[str, threading.Lock] = {}


@contextmanager
def build_lock(lock_dir: Path, key: str, timeout_s: float) -> Iterator[None]:
    """Hold the lock for ``key``: a thread lock in this process and a file lock across processes."""
    with _guard:
        local = _thread_locks.setdefault(key, threading.Lock())
    lock_dir.mkdir(parents=True, exist_ok=True)
    with local, FileLock(str(lock_dir / f"{key}.lock"), timeout=timeout_s):
        yield
