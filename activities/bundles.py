"""Where workers get step bundles: a small store interface, a local directory store, a cache."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from step_sdk.bundle import Bundle, digest_of, read_bundle


class BundleNotFound(LookupError):
    """No bundle with that digest is stored."""


class BundleStore(Protocol):
    """Bundles by digest (``sha256:<hex>``)."""

    def put(self, data: bytes) -> str:
        """Store bundle bytes; return their digest."""

    def get(self, digest: str) -> bytes:
        """The bytes of a stored bundle; raise :class:`BundleNotFound` if missing."""


class LocalBundleStore:
    """Bundles as files named by digest in one directory (the default store)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        if (
            algorithm != "sha256"
            or len(hexdigest) != 64
            or not all(c in "0123456789abcdef" for c in hexdigest)
        ):
            raise BundleNotFound(f"{digest!r} is not a sha256 digest")
        return self.directory / f"{hexdigest}.tgz"

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        path = self._path(digest)
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.partial")
            partial.write_bytes(data)
            partial.replace(path)  # atomic: readers never see half a bundle
        return digest

    def get(self, digest: str) -> bytes:
        try:
            data = self._path(digest).read_bytes()
        except FileNotFoundError:
            raise BundleNotFound(f"no bundle {digest}") from None
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise BundleNotFound(f"stored bundle {digest} is corrupt")
        return data


class BundleCache:
    """Parsed bundles by digest, kept in memory on the worker (the digest pins the content)."""

    def __init__(self, store: BundleStore, capacity: int = 256) -> None:
        self._store = store
        self._capacity = capacity
        self._bundles: OrderedDict[str, Bundle] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> Bundle:
        with self._lock:
            if digest in self._bundles:
                self._bundles.move_to_end(digest)
                return self._bundles[digest]
        bundle = read_bundle(self._store.get(digest))
        with self._lock:
            self._bundles[digest] = bundle
            while len(self._bundles) > self._capacity:
                self._bundles.popitem(last=False)
        return bundle
