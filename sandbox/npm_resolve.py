"""Resolving a step's npm requirements into a lockfile on the host, running no package code.

``npm install --package-lock-only --ignore-scripts`` reads registry metadata only: it writes
``package-lock.json`` and installs nothing, so no package script or file runs or lands on the
host. The worker therefore needs ``npm`` (npm 7 or later) on its PATH; the build container
installs with a pinned npm of its own (``sandbox.npm_installer``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from sandbox.errors import DependencyError

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
# npm 7-10 say "'x@1.0.0' is not in this registry", npm 11 "The requested resource 'x@1.0.0' ..."
_NOT_FOUND = re.compile(r"404\s+(?:The requested resource\s+)?'([^']+)'")
_NO_VERSION = re.compile(r"No matching version found for (\S+?)\.?$", re.MULTILINE)
_NETWORK = re.compile(r"\b(ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH)\b")


def npm_command() -> str:
    """The host's ``npm`` (any npm 7 or later; Debian's and NodeSource's both do).

    Raises:
        DependencyError: no ``npm`` on PATH; JavaScript dependencies need it on the worker.
    """
    found = shutil.which("npm")
    if found is None:
        raise DependencyError(
            "npm is not installed on the worker; it resolves JavaScript dependencies "
            "(install Debian's nodejs and npm packages)"
        )
    return found


def package_json(requirements: list[str]) -> dict[str, Any]:
    """The throwaway project whose dependencies are exactly ``requirements`` (``name@version``)."""
    dependencies = {}
    for requirement in requirements:
        name, _, version = requirement.rpartition("@")
        dependencies[name] = version
    return {
        "name": "stepwell-layer",
        "version": "0.0.0",
        "private": True,
        "dependencies": dependencies,
    }


def resolve_lock(
    requirements: list[str],
    *,
    registry: str = DEFAULT_REGISTRY,
    cache: Path,
    timeout_s: float = 300,
) -> dict[str, Any]:
    """Resolve ``requirements`` to a ``package-lock.json`` (parsed) with the host's npm.

    Args:
        requirements: normalized ``name@version`` strings.
        registry: the npm registry to resolve against.
        cache: npm's cache directory on the host (registry metadata only).
        timeout_s: how long npm may take.

    Raises:
        DependencyError: a package or version does not exist, the registry cannot be reached, or
            npm fails otherwise; the message names the requirement.
    """
    npm = npm_command()
    with tempfile.TemporaryDirectory(prefix="stepwell-npm-") as work:
        project = Path(work)
        (project / "package.json").write_text(json.dumps(package_json(requirements)))
        command = [
            npm, "install", "--package-lock-only", "--ignore-scripts",
            "--no-audit", "--no-fund", "--update-notifier=false", "--lockfile-version=3",
            # the operator's npmrc may drop "resolved" URLs; the build needs them
            "--omit-lockfile-registry-resolved=false",
            f"--registry={registry}", f"--cache={cache}",
            "--fetch-retries=1", "--fetch-retry-mintimeout=1000",
            "--fetch-retry-maxtimeout=5000", "--fetch-timeout=60000",
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command, cwd=project, capture_output=True, text=True, timeout=timeout_s
            )
        except subprocess.TimeoutExpired:
            raise DependencyError(
                f"resolving {', '.join(requirements)} with npm took longer than {timeout_s:g} s"
            ) from None
        if done.returncode != 0:
            raise DependencyError(
                explain_failure(done.stdout + done.stderr, requirements, registry)
            )
        return dict(json.loads((project / "package-lock.json").read_text()))


def explain_failure(output: str, requirements: list[str], registry: str) -> str:
    """A one-line reason for a failed ``npm install --package-lock-only``, naming what failed."""
    asked = ", ".join(requirements)
    missing = _NOT_FOUND.search(output)
    if missing or "code E404" in output:
        what = missing.group(1) if missing else asked
        return f"npm package {what} is not in the registry {registry} (resolving {asked})"
    version = _NO_VERSION.search(output)
    if version:
        return (
            f"npm has no version {version.group(1)} in the registry {registry} (resolving {asked})"
        )
    network = _NETWORK.search(output)
    if network:
        return (
            f"cannot reach the npm registry {registry} ({network.group(1)}) while resolving {asked}"
        )
    lines = [line.removeprefix("npm error ").strip() for line in output.splitlines()]
    detail = "; ".join(line for line in lines if line and not line.startswith("A complete log"))
    return f"npm could not resolve {asked}: {detail[-400:] or 'no output'}"
