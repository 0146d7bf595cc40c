"""Where workers get step bundles: the store interface, digest checks, a directory store, a cache.

The stores themselves: :mod:`activities.bundle_db` (the default, the ``bundle`` table),
:mod:`activities.bundle_s3` (an S3 bucket); :func:`activities.bundle_store.open_bundle_store`
picks one from the settings. :class:`LocalBundleStore` is a directory of files: tests and
benchmarks use it, and it reads the pre-0.2 ``STEPWELL_HOME/bundles`` layout on upgrade; the API,
the worker and the CLI never rely on a directory both sides see.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from step_sdk.bundle import Bundle, digest_of, read_bundle

log = logging.getLogger("stepwell.bundles")
HEX = frozenset("0123456789abcdef")


class BundleNotFound(LookupError):
    """No bundle with that digest is stored, or the stored bytes do not match it."""


class BundleStoreError(RuntimeError):
    """The bundle store cannot be used as configured (a missing bucket, refused credentials);
    the message names the setting to fix."""


class BundleStore(Protocol):
    """Bundles by digest (``sha256:<64 hex>``), content-addressed: a digest's bytes never change."""

    def put(self, data: bytes) -> str:
        """Store bundle bytes (idempotent); return their digest."""

    def get(self, digest: str) -> bytes:
        """The bytes of a stored bundle, checked against ``digest``.

        Raises:
            BundleNotFound: not a sha256 digest, not stored, or stored bytes that do not match.
        """

    def delete(self, digest: str) -> None:
        """Forget ``digest``'s bytes (a missing one is fine). Only the artifact retention pass
        calls it (ui_api.artifacts.retention), for digests no bundle or artifact row names.

        Raises:
            BundleNotFound: not a sha256 digest.
        """


def hex_of(digest: str) -> str:
    """The 64 lowercase hex characters of a ``sha256:<hex>`` digest.

    Raises:
        BundleNotFound: anything else (so no odd string reaches a file name, key or query).
    """
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != "sha256" or len(hexdigest) != 64 or not set(hexdigest) <= HEX:
        raise BundleNotFound(f"{digest!r} is not a sha256 digest")
    return hexdigest


def verified(data: bytes, digest: str, where: str) -> bytes:
    """``data`` if it hashes to ``digest``; else :class:`BundleNotFound` naming ``where``."""
    if digest_of(data) != digest:
        raise BundleNotFound(f"stored bundle {digest} is corrupt ({where})")
    return data


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` through a temporary file in its directory and a rename: readers see the
    old file, or none, or the whole new one; never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


class LocalBundleStore:
    """Bundles as files ``<hex>.tgz`` in one directory (tests, benchmarks, the upgrade copy)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        path = self.directory / f"{hex_of(digest)}.tgz"
        try:
            if path.read_bytes() == data:
                return digest
        except FileNotFoundError:
            pass
        write_atomically(path, data)  # also repairs a corrupt file
        return digest

    def get(self, digest: str) -> bytes:
        path = self.directory / f"{hex_of(digest)}.tgz"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BundleNotFound(f"no bundle {digest}") from None
        return verified(data, digest, str(path))

    def delete(self, digest: str) -> None:
        (self.directory / f"{hex_of(digest)}.tgz").unlink(missing_ok=True)


class BundleCache:
    """Parsed bundles by digest on the worker: in memory (the last ``capacity`` used) and their
    bytes on disk in ``directory`` (``<hex>.tgz``, at most ``disk_max_bytes`` in all; the least
    recently used files go first), so a restarted worker does not fetch them again.

    Every disk read is checked against the digest: a corrupt or truncated file is deleted and
    the bundle fetched from the store again, never trusted. ``directory=None``: memory only.
    """

    def __init__(
        self,
        store: BundleStore,
        directory: Path | None = None,
        *,
        capacity: int = 256,
        disk_max_bytes: int = 512 * 1024 * 1024,
    ) -> None:
        self._store = store
        self._directory = directory
        self._capacity = capacity
        self._disk_max_bytes = disk_max_bytes
        self._bundles: OrderedDict[str, Bundle] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> Bundle:
        """The parsed bundle.

        Raises:
            BundleNotFound: the store has no such bundle (or only corrupt bytes).
            step_sdk.bundle.BundleError: the bytes are not a readable bundle.
        """
        with self._lock:
            if digest in self._bundles:
                self._bundles.move_to_end(digest)
                return self._bundles[digest]
        bundle = read_bundle(self._bytes(digest))
        with self._lock:
            self._bundles[digest] = bundle
            while len(self._bundles) > self._capacity:
                self._bundles.popitem(last=False)
        return bundle

    def _bytes(self, digest: str) -> bytes:
        if self._directory is None:
            return self._store.get(digest)
        path = self._directory / f"{hex_of(digest)}.tgz"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            pass
        else:
            if digest_of(data) == digest:
                os.utime(path)  # recently used: trimmed last
                return data
            log.warning("cached bundle %s is corrupt: fetching it again", path)
            path.unlink(missing_ok=True)
        data = self._store.get(digest)
        try:
            write_atomically(path, data)
            self._trim()
        except OSError as exc:  # a full or read-only disk costs a fetch next time, nothing more
            log.warning("cannot cache bundle %s on disk: %s", digest, exc)
        return data

    def _trim(self) -> None:
        """Delete the least recently used cached files until the rest fit ``disk_max_bytes``."""
        assert self._directory is not None
        files = []
        for entry in os.scandir(self._directory):
            try:
                stat = entry.stat()
            except FileNotFoundError:  # another thread trimmed or replaced it just now
                continue
            if entry.name.endswith(".partial") and stat.st_mtime < time.time() - 3600:
                Path(entry.path).unlink(missing_ok=True)  # left by a worker that died mid-write
            elif entry.name.endswith(".tgz"):
                files.append((stat.st_mtime, stat.st_size, entry.path))
        total = sum(size for _, size, _ in files)
        for _, size, name in sorted(files):
            if total <= self._disk_max_bytes:
                break
            Path(name).unlink(missing_ok=True)
            total -= size
