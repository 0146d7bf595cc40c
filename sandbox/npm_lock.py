"""Reading an npm lockfile (``package-lock.json``, lockfileVersion 2 or 3) without trusting it.

The lock is written by ``npm install --package-lock-only`` on the host (``sandbox.npm_resolve``);
the packages it lists are what a build container installs. Before anything is fetched, each entry
is checked: it comes from the npm registry as a tarball with an ``integrity`` hash, and it has no
install script (``preinstall``/``install``/``postinstall``, or a ``binding.gyp`` npm would build),
since Stepwell never runs install scripts and a package that needs one would not work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sandbox.errors import DependencyError

_PREFIX = "node_modules/"


@dataclass(frozen=True)
class LockedPackage:
    """One package of the lock that must be fetched.

    Attributes:
        path: where it goes, e.g. ``node_modules/a/node_modules/@s/b``.
        name: its package name, e.g. ``@s/b``.
        version: its exact version.
        resolved: the tarball URL on the registry.
        integrity: the lock's Subresource Integrity string (``sha512-<base64>``, maybe several).
    """

    path: str
    name: str
    version: str
    resolved: str
    integrity: str

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


def package_name(path: str, entry: Mapping[str, Any]) -> str:
    """The package name of a lock entry: ``name`` when aliased, else the last path segment."""
    if isinstance(entry.get("name"), str):
        return str(entry["name"])
    return path.rpartition(_PREFIX)[2]


def _wanted_by(lock_packages: Mapping[str, Any], requirements: Sequence[str]) -> dict[str, str]:
    """Path of every installed package -> the direct requirement that pulls it in (first found).

    Node's resolution: a dependency ``d`` of the package at ``P`` is ``P/node_modules/d``, else
    the same under each ancestor of ``P``, up to ``node_modules/d``.
    """
    owner: dict[str, str] = {}
    root_deps = (lock_packages.get("") or {}).get("dependencies") or {}
    for requirement in requirements:
        name = requirement.rpartition("@")[0]
        if name not in root_deps:
            continue
        stack = [f"{_PREFIX}{name}"]
        while stack:
            path = stack.pop()
            if path in owner or path not in lock_packages:
                continue
            owner[path] = requirement
            entry = lock_packages[path] or {}
            for dep in [
                *(entry.get("dependencies") or {}),
                *(entry.get("optionalDependencies") or {}),
            ]:
                found = _resolve(lock_packages, path, dep)
                if found is not None:
                    stack.append(found)
    return owner


def _resolve(lock_packages: Mapping[str, Any], from_path: str, dep: str) -> str | None:
    base = from_path
    while True:
        candidate = f"{base}/{_PREFIX}{dep}" if base else f"{_PREFIX}{dep}"
        if candidate in lock_packages:
            return candidate
        if not base:
            return None
        cut = base.rfind(f"/{_PREFIX}")
        base = base[:cut] if cut >= 0 else ""


def _platform_excludes(entry: Mapping[str, Any], cpu: str) -> bool:
    """True for an optional package built for another platform (npm skips it on Linux/``cpu``)."""
    if not entry.get("optional"):
        return False

    def excluded(values: object, ours: str) -> bool:
        if not isinstance(values, list) or not values:
            return False
        if f"!{ours}" in values:
            return True
        allowed = [v for v in values if isinstance(v, str) and not v.startswith("!")]
        return bool(allowed) and ours not in allowed

    return (
        excluded(entry.get("os"), "linux")
        or excluded(entry.get("cpu"), cpu)
        or (excluded(entry.get("libc"), "glibc"))
    )


def locked_packages(
    lock: Mapping[str, Any], requirements: Sequence[str], *, registry: str, cpu: str = "x64"
) -> list[LockedPackage]:
    """The packages of ``lock`` to fetch, each checked, in lock order.

    Args:
        lock: the parsed ``package-lock.json``.
        requirements: the step's ``name@version`` requirements (to say which one pulls a bad
            package in).
        registry: the registry's base URL; every tarball must be on its host.
        cpu: Node's name of the engine's architecture (``x64``, ``arm64``), to skip optional
            packages of other platforms as ``npm ci`` does.

    Raises:
        DependencyError: the lock is not one npm 7+ writes, or an entry has an install script,
            comes from elsewhere than the registry (git, a URL, a path) or has no integrity hash;
            the message names the package and the requirement that pulls it in.
    """
    entries = lock.get("packages")
    if lock.get("lockfileVersion") not in (2, 3) or not isinstance(entries, dict):
        raise DependencyError("npm wrote a lockfile Stepwell cannot read (lockfileVersion 2 or 3)")
    owners = _wanted_by(entries, requirements)
    registry_host = urlsplit(registry).netloc
    packages = []
    for path, entry in entries.items():
        if not path or not isinstance(entry, dict) or entry.get("inBundle"):
            continue  # the root, or shipped inside its parent's tarball
        if _platform_excludes(entry, cpu):
            continue  # npm ci skips it too, install script or not
        name = package_name(path, entry)
        version = str(entry.get("version", "?"))
        wanted = owners.get(path)
        via = "" if wanted is None or wanted == f"{name}@{version}" else f" (needed by {wanted})"
        what = f"{name}@{version}{via}"
        if entry.get("hasInstallScript"):
            raise DependencyError(
                f"npm package {what} has an install script (preinstall, install or postinstall); "
                "Stepwell never runs install scripts, so it cannot be installed: choose a "
                "package that works without one"
            )
        resolved, integrity = entry.get("resolved"), entry.get("integrity")
        if entry.get("link") or not isinstance(resolved, str):
            raise DependencyError(f"npm package {what} is not a registry package")
        source = urlsplit(resolved)
        if source.scheme not in ("https", "http") or source.netloc != registry_host:
            raise DependencyError(
                f"npm package {what} comes from {resolved}, not from the registry "
                f"{registry}; Stepwell installs registry packages only"
            )
        if not isinstance(integrity, str) or not integrity:
            raise DependencyError(f"npm package {what} has no integrity hash in the lock")
        packages.append(LockedPackage(path, name, version, resolved, integrity))
    return packages
