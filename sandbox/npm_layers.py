"""npm dependency layers (contract 4) for ``node20`` steps: ``/opt/stepwell/node_modules``.

Building one: the host resolves the requirements to a lock with ``npm install
--package-lock-only --ignore-scripts`` (``sandbox.npm_resolve``), refuses any package with an
install script or from outside the registry (``sandbox.npm_lock``), fetches every tarball and
checks it against the lock's integrity (``sandbox.npm_tarballs``). A build container from the
node runtime image, with **no network** and no capabilities, then runs a pinned npm
(``sandbox.npm_installer``, copied in) as ``npm ci --offline --ignore-scripts`` against a cache
holding exactly those tarballs, moves ``node_modules`` to ``/opt/stepwell/node_modules`` and
is committed as ``stepwell/deps:<key>`` (labelled like Python layers, so reuse, the janitor and
warm pools treat both alike). ESM resolution walks up from the bundle (``/opt/stepwell/bundle``)
to find it.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from docker.errors import APIError
from requests.exceptions import RequestException

from sandbox import labels
from sandbox.config import SANDBOX_USER
from sandbox.errors import SandboxError
from sandbox.layers import DEPS_REPOSITORY, LayerCache, Progress, build_host_config, run_build
from sandbox.npm_installer import npm_files, npm_tarball
from sandbox.npm_lock import locked_packages
from sandbox.npm_resolve import DEFAULT_REGISTRY, package_json, resolve_lock
from sandbox.npm_tarballs import fetch_tarballs
from step_sdk.runtimes import NODE, runtime

NODE_MODULES = "/opt/stepwell/node_modules"
_BUILD = "stepwell-build"  # under /tmp in the build container
_NODE_CPU = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


class NpmLayers(LayerCache[str]):
    """Finds or builds the image holding ``name@version`` requirements on the node image."""

    runtime = NODE

    @property
    def registry(self) -> str:
        return self._config.npm_registry or DEFAULT_REGISTRY

    def _build(
        self,
        base_image_id: str,
        requirements: Sequence[str],
        key: str,
        tag: str,
        progress: Progress | None,
    ) -> str:
        say = progress or (lambda _message: None)
        wanted = list(requirements)
        say(f"resolving {', '.join(wanted)} with npm (no scripts)")
        lock = resolve_lock(wanted, registry=self.registry, cache=self._config.cache_dir / "npm")
        architecture = str(self._client.info().get("Architecture", "x86_64"))
        packages = locked_packages(
            lock, wanted, registry=self.registry, cpu=_NODE_CPU.get(architecture, architecture)
        )
        tarballs = self._config.cache_dir / "npm-tarballs" / key
        shutil.rmtree(tarballs, ignore_errors=True)
        try:
            say(f"fetching {len(packages)} npm tarballs and checking their integrity")
            with httpx.Client(timeout=60, follow_redirects=True) as client:
                fetch_tarballs(packages, tarballs, client)
            say("installing npm packages in a build container without network")
            image_id = self.install_locked(base_image_id, wanted, lock, tarballs, key)
        finally:
            shutil.rmtree(tarballs, ignore_errors=True)
        self.builds += 1
        return image_id

    def install_locked(
        self,
        base_image_id: str,
        requirements: list[str],
        lock: dict[str, Any],
        tarballs: Path,
        key: str,
    ) -> str:
        """Install a checked lock from fetched tarballs; commit ``stepwell/deps:<key>``.

        The build container runs ``npm ci --offline --ignore-scripts`` with no network, so this
        step alone guarantees no package script runs and nothing is fetched, whatever the lock
        says (the checks before it refuse packages that would need a script).

        Args:
            tarballs: npm's cache directory holding every tarball of ``lock`` by digest
                (``sandbox.npm_tarballs.fetch_tarballs``).

        Returns:
            The committed image's id.

        Raises:
            DependencyError: npm failed (its last lines are in the message) or took too long.
            SandboxError: the Docker engine failed.
        """
        with httpx.Client(timeout=60, follow_redirects=True) as client:
            installer = npm_tarball(self._config.cache_dir, self.registry, client)
        archive = _build_archive(requirements, lock, tarballs, installer)
        tag = f"{DEPS_REPOSITORY}:{key[:40]}"
        build = f"/tmp/{_BUILD}"
        # The environment is set in the script, not on the container: commit would keep it.
        npm = (
            f"HOME={build} node {build}/npm/bin/npm-cli.js ci --offline --ignore-scripts "
            f"--no-audit --no-fund --update-notifier=false --cache={build}/cache "
            f"--userconfig={build}/npmrc --globalconfig={build}/npmrc-global --loglevel=warn"
        )
        script = (
            f"cd {build}/project && {npm} && rm -rf {NODE_MODULES} && "
            f"mv node_modules {NODE_MODULES}; status=$?; cd /; rm -rf {build}; exit $status"
        )
        now = int(time.time())
        host_config = build_host_config(self._api, self._config)
        container = self._api.create_container(
            image=base_image_id,
            command=["sh", "-c", script],
            user="0:0",
            host_config=host_config,  # network_mode "none": a namespace with loopback only
            labels={
                labels.ROLE: labels.ROLE_BUILD,
                labels.LAYER_KEY: key,
                labels.CREATED: str(now),
                labels.EXPIRES: str(int(now + self._config.build_timeout_s + 60)),
                **labels.owned_by(self._config),
            },
        )
        container_id = str(container["Id"])
        try:
            run_build(self._api, container_id, archive, self._config, "npm packages")
            repository, _, tag_name = tag.partition(":")
            committed = self._api.commit(
                container_id,
                repository=repository,
                tag=tag_name,
                conf={
                    "Labels": {
                        labels.ROLE: labels.ROLE_DEPS,
                        labels.LAYER_KEY: key,
                        labels.RUNTIME: NODE,
                    },
                    "Cmd": list(runtime(NODE).runner_command),
                    "User": SANDBOX_USER,
                },
            )
            return str(committed["Id"])
        except APIError as exc:
            raise SandboxError(f"building the npm dependency layer failed: {exc}") from exc
        finally:
            with contextlib.suppress(APIError, RequestException):
                self._api.remove_container(container_id, force=True, v=True)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def _build_archive(
    requirements: list[str], lock: dict[str, Any], tarballs: Path, npm: bytes
) -> bytes:
    """The build context: the project and its lock, the filled cache, and the npm package."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        _add_bytes(
            tar, f"{_BUILD}/project/package.json", json.dumps(package_json(requirements)).encode()
        )
        _add_bytes(tar, f"{_BUILD}/project/package-lock.json", json.dumps(lock).encode())
        _add_bytes(tar, f"{_BUILD}/npmrc", b"")
        _add_bytes(tar, f"{_BUILD}/npmrc-global", b"")
        tar.add(tarballs, arcname=f"{_BUILD}/cache")
        for name, data, mode in npm_files(npm):
            _add_bytes(tar, f"{_BUILD}/npm/{name}", data, mode)
    return out.getvalue()
