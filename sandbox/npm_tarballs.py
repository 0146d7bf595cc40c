"""Fetching the tarballs of an npm lock on the host and checking them against its integrity.

Nothing is unpacked or run here: each tarball's bytes are hashed and, when they match the lock's
``integrity``, stored where ``npm ci --offline`` finds them by digest (cacache's content store,
``_cacache/content-v2/<algorithm>/<hex[:2]>/<hex[2:4]>/<hex[4:]>``). The build container then
installs from that cache without network, and npm checks each hash again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from pathlib import Path

import httpx

from sandbox.errors import DependencyError
from sandbox.npm_lock import LockedPackage

# Strongest first; npm writes sha512 today, sha1 for some packages published long ago.
_ALGORITHMS = ("sha512", "sha384", "sha256", "sha1")
MAX_TARBALL_BYTES = 128 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024


def strongest_hash(integrity: str) -> tuple[str, bytes]:
    """The strongest ``(algorithm, digest)`` of a Subresource Integrity string.

    >>> strongest_hash("sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA= sha512-" + "A" * 86 + "==")[0]
    'sha512'

    Raises:
        ValueError: no hash of a known algorithm, or a digest that is not base64.
    """
    found: dict[str, bytes] = {}
    for item in integrity.split():
        algorithm, _, rest = item.partition("-")
        if algorithm in _ALGORITHMS:
            try:
                found[algorithm] = base64.b64decode(rest.split("?")[0], validate=True)
            except binascii.Error:
                raise ValueError(f"integrity {item!r} is not base64") from None
    for algorithm in _ALGORITHMS:
        if algorithm in found:
            return algorithm, found[algorithm]
    raise ValueError(f"integrity {integrity!r} has no sha512, sha384, sha256 or sha1 hash")


def cache_path(cache: Path, algorithm: str, digest: bytes) -> Path:
    """Where npm's cache (cacache) keeps content with this digest."""
    hexdigest = digest.hex()
    return (
        cache
        / "_cacache"
        / "content-v2"
        / algorithm
        / hexdigest[:2]
        / hexdigest[2:4]
        / hexdigest[4:]
    )


def fetch_tarballs(
    packages: Iterable[LockedPackage],
    cache: Path,
    client: httpx.Client,
    *,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> int:
    """Download every package's tarball into ``cache`` (npm's cache layout); return the bytes.

    Raises:
        DependencyError: a tarball cannot be fetched (registry down, not found, too large) or
            its bytes do not match the lock's integrity; the message names the package.
    """
    total = 0
    for package in packages:
        try:
            algorithm, digest = strongest_hash(package.integrity)
        except ValueError as exc:
            raise DependencyError(f"npm package {package}: {exc}") from None
        target = cache_path(cache, algorithm, digest)
        if target.exists():
            continue  # the same tarball twice in one tree (nested copies)
        data = _download(client, package, max_bytes=min(MAX_TARBALL_BYTES, max_total_bytes - total))
        if hashlib.new(algorithm, data).digest() != digest:
            raise DependencyError(
                f"npm package {package}: the tarball from {package.resolved} does not match the "
                f"lock's integrity ({algorithm}); refusing to install it"
            )
        total += len(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return total


def _download(client: httpx.Client, package: LockedPackage, *, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        with client.stream("GET", package.resolved) as response:
            if response.status_code != 200:
                raise DependencyError(
                    f"npm package {package}: the registry answered {response.status_code} "
                    f"for {package.resolved}"
                )
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise DependencyError(
                        f"npm package {package}: the tarball is larger than {max_bytes} bytes"
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise DependencyError(
            f"npm package {package}: cannot fetch {package.resolved}: {exc or type(exc).__name__}"
        ) from None
    return b"".join(chunks)
