"""npm itself, pinned, for build containers: the node runtime image need not ship npm.

The npm package on the registry bundles all of its own dependencies, so its tarball alone runs
as ``node npm/bin/npm-cli.js``. It is fetched once by the host, checked against the pinned
integrity, kept under ``<cache>/tools``, and copied into each build container as plain files
(never unpacked on the host's disk). Whatever npm the worker has (Debian's, NodeSource's) only
resolves locks; this one installs them, the same on every host.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import httpx

from sandbox.errors import DependencyError
from sandbox.npm_tarballs import strongest_hash

NPM_VERSION = "10.9.9"  # runs on node ^18.17.0 || >=20.5.0
NPM_INTEGRITY = (
    "sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg=="
)  # fmt: skip
_PREFIX = "package/"


def _matches(data: bytes) -> bool:
    algorithm, digest = strongest_hash(NPM_INTEGRITY)
    return hashlib.new(algorithm, data).digest() == digest


def npm_tarball(cache_dir: Path, registry: str, client: httpx.Client) -> bytes:
    """The pinned npm package's tarball, from the cache or the registry, integrity checked.

    Raises:
        DependencyError: it cannot be fetched, or its bytes are not the pinned ones.
    """
    path = cache_dir / "tools" / f"npm-{NPM_VERSION}.tgz"
    if path.is_file():
        data = path.read_bytes()
        if _matches(data):
            return data
    url = f"{registry.rstrip('/')}/npm/-/npm-{NPM_VERSION}.tgz"
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise DependencyError(f"cannot fetch npm {NPM_VERSION} from {url}: {exc}") from None
    if response.status_code != 200:
        raise DependencyError(
            f"cannot fetch npm {NPM_VERSION}: {url} answered {response.status_code}"
        )
    if not _matches(response.content):
        raise DependencyError(f"npm {NPM_VERSION} from {url} does not match its pinned integrity")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(response.content)
    return response.content


def npm_files(tarball: bytes) -> Iterator[tuple[str, bytes, int]]:
    """``(relative path, bytes, mode)`` of each regular file in the npm package tarball.

    Links, devices and paths that are absolute or climb out are skipped; modes keep only the
    executable bit.
    """
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.startswith(_PREFIX):
                continue
            relative = PurePosixPath(member.name.removeprefix(_PREFIX))
            if relative.is_absolute() or ".." in relative.parts or not relative.parts:
                continue
            extracted = tar.extractfile(member)
            if extracted is None:
                continue
            yield relative.as_posix(), extracted.read(), 0o755 if member.mode & 0o100 else 0o644
