"""The root filesystem a runtime image is built on, pulled or built offline, per runtime.

Each runtime's base image (``sandbox.images`` for Python, ``sandbox.node_image`` for Node.js)
starts from a flattened root filesystem image: the official registry image where a registry
answers (``python:3.11-slim``, ``node:20-slim``), otherwise Debian ``minbase`` built offline with
``debootstrap`` plus the runtime's package (bookworm's ``python3``; trixie's ``nodejs``, 20.19).
Either way it is exported and imported again, which flattens it and drops its configuration (no
inherited environment, entrypoint or user), documentation is pruned and no program keeps a
setuid or setgid bit.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound

from sandbox.errors import ImageBuildError

Log = Callable[[str], None]
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# Trimmed from the root filesystem: documentation and package-manager state a step never needs.
_PRUNE = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/cache/apt",
    "var/lib/apt/lists",
    "var/log",
)


@dataclass(frozen=True)
class RootfsSource:
    """Where a runtime's root filesystem comes from.

    Attributes:
        image: the flattened root filesystem's repository, e.g. ``stepwell/rootfs-node20``.
        registry_image: what to pull where a registry answers, e.g. ``node:20-slim``.
        suite: the Debian suite ``debootstrap`` builds otherwise, e.g. ``trixie``.
        include: the Debian package that brings the runtime, e.g. ``nodejs``.
        archive: the cached tar of the debootstrapped tree, below the cache directory.
    """

    image: str
    registry_image: str
    suite: str
    include: str
    archive: str


def ensure_rootfs(
    client: docker.DockerClient,
    cache_dir: Path,
    spec: RootfsSource,
    log: Log,
    *,
    source: str = "auto",
    rebuild: bool = False,
) -> str:
    """The tag of ``spec``'s root filesystem image, pulled or built if missing.

    Args:
        source: ``auto`` (pull, else debootstrap), ``pull`` or ``debootstrap``.
        rebuild: make it again even if it exists.

    Raises:
        ImageBuildError: neither way worked; the message says what to install or allow.
    """
    tag = f"{spec.image}:latest"
    if not rebuild:
        try:
            client.images.get(tag)
            return tag
        except ImageNotFound:
            pass
    if source in ("auto", "pull"):
        try:
            _from_registry(client, spec, log)
            return tag
        except APIError as exc:
            if source == "pull":
                raise ImageBuildError(f"pulling {spec.registry_image} failed: {exc}") from exc
            log(f"cannot pull {spec.registry_image} ({_first_line(exc)}); using debootstrap")
    _from_debootstrap(client, cache_dir, spec, log)
    return tag


def _from_registry(client: docker.DockerClient, spec: RootfsSource, log: Log) -> None:
    repository, _, version = spec.registry_image.partition(":")
    log(f"pulling {spec.registry_image}")
    client.images.pull(repository, tag=version)
    container = client.containers.create(spec.registry_image, command=["true"])
    try:
        # Export + import flattens the image and drops its configuration (ENV, CMD, ...).
        stream = container.export()
        client.api.import_image_from_stream(
            _IterStream(stream), repository=spec.image, tag="latest"
        )
    finally:
        container.remove(force=True)


def _from_debootstrap(
    client: docker.DockerClient, cache_dir: Path, spec: RootfsSource, log: Log
) -> None:
    archive = cache_dir / spec.archive
    target = archive.with_suffix("")
    if not archive.exists():
        _debootstrap(target, spec, log)
        prune(target)
        log(f"packing {target}")
        partial = archive.with_suffix(".tar.partial")
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(target), "-cf", str(partial), "."],
            check=True,
        )
        partial.rename(archive)
        shutil.rmtree(target, ignore_errors=True)
    log(f"importing {archive} as {spec.image}:latest")
    client.api.import_image_from_file(str(archive), repository=spec.image, tag="latest")


def _debootstrap(target: Path, spec: RootfsSource, log: Log) -> None:
    binary = shutil.which("debootstrap")
    if binary is None:
        raise ImageBuildError(
            "no registry is reachable and debootstrap is not installed: run "
            f"'apt-get install -y debootstrap' as root (or make {spec.registry_image} pullable)"
        )
    if os.geteuid() != 0:
        raise ImageBuildError(
            "building the base image offline needs root (debootstrap): run "
            f"'sudo stepwell images build', or make {spec.registry_image} pullable"
        )
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"debootstrap {spec.suite} minbase with {spec.include} into {target} (about a minute)")
    result = subprocess.run(
        [
            binary,
            "--variant=minbase",
            f"--include={spec.include}",
            spec.suite,
            str(target),
            DEBIAN_MIRROR,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise ImageBuildError(f"debootstrap failed:\n{tail}")


def prune(root: Path) -> None:
    """Remove documentation and package state below ``root``; clear setuid and setgid bits."""
    for relative in _PRUNE:
        shutil.rmtree(root / relative, ignore_errors=True)
    # No setuid or setgid programs in a step's image: no-new-privileges already makes them inert.
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                continue
            mode = os.lstat(path).st_mode
            if mode & 0o6000:
                os.chmod(path, mode & ~0o6000 & 0o7777)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


class _IterStream(io.RawIOBase):
    """A file-like view of an iterator of byte chunks (for streaming an export into an import)."""

    def __init__(self, chunks: object) -> None:
        self._chunks = iter(chunks)  # type: ignore[call-overload]
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size
