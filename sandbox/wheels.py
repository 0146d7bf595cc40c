"""Resolving and downloading a step's requirements as wheels, on the host, without running them.

``pip download --only-binary=:all:`` for the container's interpreter and platform never builds a
source distribution, so no code of the packages runs on the host.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import docker

from sandbox.errors import DependencyError
from step_sdk.requirements import Requirement, normalize_name

_GLIBC_MINOR = 36  # Debian bookworm, the oldest root filesystem we build on
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_NOT_FOUND = re.compile(r"Could not find a version that satisfies the requirement (\S+)")


@dataclass(frozen=True)
class Platform:
    """The interpreter and platform the wheels must fit."""

    python_version: str = "3.11"
    abi: str = "cp311"
    machine: str = "x86_64"

    def pip_arguments(self) -> list[str]:
        arguments = ["--python-version", self.python_version, "--implementation", "cp"]
        for abi in (self.abi, "abi3", "none"):
            arguments += ["--abi", abi]
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in range(_GLIBC_MINOR, 16, -1)]
        tags += [f"manylinux2014_{self.machine}"]
        if self.machine == "x86_64":
            tags += ["manylinux2010_x86_64", "manylinux1_x86_64"]
        for tag in tags:
            arguments += ["--platform", tag]
        return arguments


def engine_platform(client: docker.DockerClient) -> Platform:
    """The platform of the containers a Docker engine runs (its ``Architecture``)."""
    architecture = str(client.info().get("Architecture", "x86_64"))
    return Platform(machine={"arm64": "aarch64", "amd64": "x86_64"}.get(architecture, architecture))


def download_wheels(
    requirements: list[Requirement],
    dest: Path,
    platform: Platform,
    *,
    index_url: str | None = None,
    timeout_s: float = 600,
) -> list[Path]:
    """Download wheels for ``requirements`` and everything they depend on into ``dest``.

    Raises:
        DependencyError: a requirement (or one of its dependencies) has no wheel for the
            platform, does not exist, or the index cannot be reached; the message names it.
    """
    dest.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--only-binary=:all:",
        "--no-input",
        "--disable-pip-version-check",
        "--progress-bar=off",
        "--dest",
        str(dest),
        *platform.pip_arguments(),
    ]
    if index_url:
        command += ["--index-url", index_url]
    command += [str(r) for r in requirements]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise DependencyError(f"downloading wheels took longer than {timeout_s:g} s") from None
    if done.returncode != 0:
        raise DependencyError(_explain_failure(done.stdout + done.stderr, platform))
    wheels = sorted(dest.glob("*.whl"))
    wanted = {r.name for r in requirements}
    found = {normalize_name(w.name.split("-")[0]) for w in wheels}
    missing = wanted - found
    if missing:
        raise DependencyError(f"no wheel was downloaded for {', '.join(sorted(missing))}")
    return wheels


def pip_wheel(cache_dir: Path, index_url: str | None = None) -> Path:
    """pip itself as a wheel (cached): it runs straight from the wheel inside build containers."""
    from importlib.metadata import version

    tools = cache_dir / "tools"
    existing = sorted(tools.glob("pip-*.whl"))
    if not existing:
        download_wheels(
            [Requirement("pip", version("pip"))], tools, Platform(), index_url=index_url
        )
        existing = sorted(tools.glob("pip-*.whl"))
    return existing[-1]


def _explain_failure(output: str, platform: Platform) -> str:
    target = f"python{platform.python_version} on manylinux {platform.machine}"
    match = _NO_MATCH.search(output) or _NOT_FOUND.search(output)
    if match:
        return (
            f"no wheel of {match.group(1)} is available for {target} "
            "(Stepwell installs wheels only, never source distributions)"
        )
    lines = [line for line in output.splitlines() if line.startswith("ERROR")]
    detail = "; ".join(lines[-3:]) or (output.strip().splitlines() or ["no output"])[-1]
    return f"resolving requirements for {target} failed: {detail}"
