"""Dependency layers (contract 4): the base image plus a step's requirements, built once per key.

key = sha256(base image id, runtime, sorted normalised requirements). Wheels are downloaded on the
host; a build container with **no network** installs them into ``/opt/stepwell/deps`` and is
committed as ``stepwell/deps:<key>``. Later runs reuse the image; a janitor removes layers unused
for long.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tarfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import docker
from docker.errors import APIError, ImageNotFound
from requests.exceptions import RequestException

from sandbox import labels
from sandbox.config import RUNTIME, SANDBOX_USER, SandboxConfig
from sandbox.errors import DependencyError, SandboxError
from sandbox.hardening import RUNNER_COMMAND
from sandbox.locks import build_lock
from sandbox.wheels import download_wheels, engine_platform, pip_wheel
from step_sdk.requirements import Requirement

DEPS_REPOSITORY = "stepwell/deps"
DEPS_DIR = "/opt/stepwell/deps"
_BUILD_DIR = "/tmp/stepwell-build"
Progress = Callable[[str], None]
R = TypeVar("R", Requirement, str)


def layer_key(base_image_id: str, requirements: Sequence[object], runtime: str = RUNTIME) -> str:
    """The cache key of a dependency layer (requirements as their normalized strings)."""
    text = "\n".join([base_image_id, runtime, *sorted(str(r) for r in requirements)])
    return hashlib.sha256(text.encode()).hexdigest()


def build_host_config(api: docker.APIClient, config: SandboxConfig) -> dict[str, Any]:
    """The host configuration of a dependency build container (pip or npm): no network (a
    namespace with loopback only), no capabilities, no new privileges, the operator's build
    memory cap, 256 processes. The installers run as root inside it, on packages fetched and
    checked on the host, with their install scripts off."""
    return dict(
        api.create_host_config(
            network_mode="none",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            mem_limit=f"{config.build_memory_mb}m",
            memswap_limit=f"{config.build_memory_mb}m",
            pids_limit=256,
        )
    )


def run_build(
    api: docker.APIClient, container_id: str, archive: bytes, config: SandboxConfig, what: str
) -> None:
    """Copy ``archive`` to ``/tmp`` of the created build container, start it and wait for it
    (at most ``config.build_timeout_s``).

    Raises:
        DependencyError: it took longer, or exited non-zero (the message ends with the last
            five lines it printed); ``what`` names what was installed ("requirements").
    """
    api.put_archive(container_id, "/tmp", archive)
    api.start(container_id)
    try:
        status = api.wait(container_id, timeout=int(config.build_timeout_s))
    except RequestException:
        raise DependencyError(
            f"installing {what} took longer than {config.build_timeout_s:g} s"
        ) from None
    if status.get("StatusCode") != 0:
        output = api.logs(container_id).decode("utf-8", "replace")
        lines = [line for line in output.splitlines() if line.strip()]
        raise DependencyError(f"installing {what} failed: " + " | ".join(lines[-5:]))


class LayerCache(Generic[R]):
    """Finds or builds the image holding a requirement set on top of a runtime's base image.

    Subclasses build a missing layer (``_build``) for their runtime; the key, the per-key build
    lock, the reuse and the last-use markers garbage collection goes by are shared.
    """

    runtime = RUNTIME

    def __init__(
        self,
        client: docker.DockerClient,
        config: SandboxConfig,
        on_use: Callable[[str], None] | None = None,
    ) -> None:
        self._client = client
        self._api = client.api
        self._config = config
        # told each layer key marked used (a worker records it in the layer_use table); it must
        # not block: it runs on the execution's path
        self._on_use = on_use
        self.builds = 0  # how many layers this instance actually built (observability, tests)

    @property
    def _state_dir(self) -> Path:
        return self._config.cache_dir / "layers"

    def ensure(
        self,
        base_image_id: str,
        requirements: Sequence[R],
        progress: Progress | None = None,
    ) -> str:
        """Return the id of the image with ``requirements`` installed (the base when none)."""
        if not requirements:
            return base_image_id
        key = layer_key(base_image_id, requirements, self.runtime)
        tag = f"{DEPS_REPOSITORY}:{key[:40]}"
        found = self._find(tag)
        if found is None:
            with build_lock(self._state_dir, key, timeout_s=self._config.build_timeout_s):
                found = self._find(tag)  # someone else may have built it while we waited
                if found is None:
                    found = self._build(base_image_id, requirements, key, tag, progress)
        self.mark_used(key)
        return found

    def mark_used(self, key: str) -> None:
        """Record that a layer was used now (what garbage collection goes by)."""
        marker = self._state_dir / f"{key}.used"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        if self._on_use is not None:
            self._on_use(key)

    def key(self, base_image_id: str, requirements: Sequence[R]) -> str:
        """The layer key of ``requirements`` on ``base_image_id`` (its ``stepwell.layer_key``)."""
        return layer_key(base_image_id, requirements, self.runtime)

    def _find(self, tag: str) -> str | None:
        try:
            return str(self._client.images.get(tag).id)
        except ImageNotFound:
            return None
        except (APIError, RequestException) as exc:
            raise SandboxError(f"cannot reach the Docker engine: {exc}") from exc

    def _build(
        self,
        base_image_id: str,
        requirements: Sequence[R],
        key: str,
        tag: str,
        progress: Progress | None,
    ) -> str:
        raise NotImplementedError


class DependencyLayers(LayerCache[Requirement]):
    """Python layers: pinned wheels installed with pip into ``/opt/stepwell/deps``."""

    def _build(
        self,
        base_image_id: str,
        requirements: Sequence[Requirement],
        key: str,
        tag: str,
        progress: Progress | None,
    ) -> str:
        say = progress or (lambda _message: None)
        wheel_dir = self._config.cache_dir / "wheels" / key
        shutil.rmtree(wheel_dir, ignore_errors=True)
        say(f"downloading wheels for {', '.join(str(r) for r in requirements)}")
        download_wheels(
            list(requirements),
            wheel_dir,
            engine_platform(self._client),
            index_url=self._config.pip_index_url,
        )
        installer = pip_wheel(self._config.cache_dir, self._config.pip_index_url)
        say("installing wheels in a build container without network")
        try:
            image_id = self._install(base_image_id, requirements, wheel_dir, installer, key, tag)
        finally:
            shutil.rmtree(wheel_dir, ignore_errors=True)
        self.builds += 1
        return image_id

    def _install(
        self,
        base_image_id: str,
        requirements: Sequence[Requirement],
        wheel_dir: Path,
        installer: Path,
        key: str,
        tag: str,
    ) -> str:
        pip = f"{_BUILD_DIR}/{installer.name}/pip"
        script = (
            f"python3 {pip} install --no-index --find-links {_BUILD_DIR}/wheels "
            f"--target {DEPS_DIR} --disable-pip-version-check --no-warn-script-location "
            f"--root-user-action=ignore -r {_BUILD_DIR}/requirements.txt; "
            f"status=$?; rm -rf {_BUILD_DIR}; exit $status"
        )
        host_config = build_host_config(self._api, self._config)
        container = self._api.create_container(
            image=base_image_id,
            command=["sh", "-c", script],
            user="0:0",
            host_config=host_config,
            network_disabled=True,
            labels={
                labels.ROLE: labels.ROLE_BUILD,
                labels.CREATED: str(int(time.time())),
                labels.EXPIRES: str(int(time.time() + self._config.build_timeout_s + 60)),
                **labels.owned_by(self._config),
            },
        )
        container_id = str(container["Id"])
        try:
            archive = _build_archive(requirements, wheel_dir, installer)
            run_build(self._api, container_id, archive, self._config, "requirements")
            committed = self._api.commit(
                container_id,
                repository=tag.split(":")[0],
                tag=tag.split(":")[1],
                conf={
                    "Labels": {
                        labels.ROLE: labels.ROLE_DEPS,
                        labels.LAYER_KEY: key,
                        # the base's runtime (python3.11 or python3.11-browser): pools seeded
                        # from this layer start that runtime's container (sandbox.pool_seed)
                        labels.RUNTIME: self._base_runtime(base_image_id),
                    },
                    "Cmd": RUNNER_COMMAND,
                    "User": SANDBOX_USER,
                },
            )
            return str(committed["Id"])
        except APIError as exc:
            raise SandboxError(f"building the dependency layer failed: {exc}") from exc
        finally:
            with contextlib.suppress(APIError):
                self._api.remove_container(container_id, force=True, v=True)

    def _base_runtime(self, base_image_id: str) -> str:
        try:
            found = self._client.images.get(base_image_id).labels or {}
        except (ImageNotFound, APIError, RequestException):
            found = {}
        return str(found.get(labels.RUNTIME, RUNTIME))


def _build_archive(requirements: Sequence[Requirement], wheel_dir: Path, installer: Path) -> bytes:
    root = _BUILD_DIR.removeprefix("/tmp/")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        text = "".join(f"{r}\n" for r in requirements).encode()
        info = tarfile.TarInfo(f"{root}/requirements.txt")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
        for wheel in sorted(wheel_dir.glob("*.whl")):
            tar.add(wheel, arcname=f"{root}/wheels/{wheel.name}")
        tar.add(installer, arcname=f"{root}/{installer.name}")
    return out.getvalue()


def layer_marker_age(state_dir: Path, key: str) -> float | None:
    """Seconds since a layer was last used, or None if no use was ever recorded here."""
    marker = state_dir / f"{key}.used"
    try:
        return time.time() - os.stat(marker).st_mtime
    except FileNotFoundError:
        return None
