"""The image a step runs in: base image + dependency layer + the bundle's files, cached.

The bundle reaches the image through ``put_archive`` on a never-started container that is then
committed, so it works against a remote Docker host too, and the step's code sits on the
read-only root filesystem at run time.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from collections.abc import Callable

import docker
from docker.errors import APIError, ImageNotFound
from requests.exceptions import RequestException

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.errors import SandboxError
from sandbox.hardening import RUNNER_COMMAND
from sandbox.images import ImageBuilder
from sandbox.layers import DependencyLayers
from sandbox.locks import build_lock
from step_sdk.bundle import Bundle
from step_sdk.requirements import parse_requirements

STEP_REPOSITORY = "stepwell/step"
BUNDLE_DIR = "/opt/stepwell/bundle"
Progress = Callable[[str], None]


class StepImages:
    """Resolves a bundle to the id of a ready-to-run image, building missing layers once."""

    def __init__(
        self,
        client: docker.DockerClient,
        config: SandboxConfig,
        base: ImageBuilder | None = None,
        layers: DependencyLayers | None = None,
    ) -> None:
        self._client = client
        self._api = client.api
        self._config = config
        self.base = base or ImageBuilder(client, config)
        self.layers = layers or DependencyLayers(client, config)
        self._resolved: dict[str, str] = {}

    def base_image_id(self) -> str:
        found = self.base.find()
        if found is None:
            raise SandboxError(
                f"the base image {self.base.tag} is missing: run 'stepwell images build'"
            )
        return found

    def for_bundle(self, bundle: Bundle, progress: Progress | None = None) -> str:
        """The image id to run ``bundle`` in (building its dependency and bundle layers once)."""
        cached = self._resolved.get(bundle.digest)
        if cached is not None and self._exists(cached):
            return cached
        base_id = self.base_image_id()
        requirements = parse_requirements(list(bundle.manifest.requirements))
        deps_id = self.layers.ensure(base_id, requirements, progress)
        key = hashlib.sha256(f"{deps_id}\n{bundle.digest}".encode()).hexdigest()
        tag = f"{STEP_REPOSITORY}:{key[:40]}"
        image_id = self._find(tag)
        if image_id is None:
            with build_lock(self._config.cache_dir / "layers", key, self._config.build_timeout_s):
                image_id = self._find(tag) or self._commit_bundle(deps_id, bundle, key, tag)
        self.layers.mark_used(key)
        self._resolved[bundle.digest] = image_id
        return image_id

    def _exists(self, image_id: str) -> bool:
        return self._find(image_id) is not None

    def _find(self, reference: str) -> str | None:
        try:
            return str(self._client.images.get(reference).id)
        except ImageNotFound:
            return None
        except (APIError, RequestException) as exc:
            raise SandboxError(f"cannot reach the Docker engine: {exc}") from exc

    def _commit_bundle(self, deps_id: str, bundle: Bundle, key: str, tag: str) -> str:
        try:
            container = self._api.create_container(
                image=deps_id,
                command=["true"],
                network_disabled=True,
                labels={
                    labels.ROLE: labels.ROLE_BUILD,
                    labels.CREATED: str(int(time.time())),
                    labels.EXPIRES: str(int(time.time()) + 600),
                },
            )
            container_id = str(container["Id"])
            try:
                self._api.put_archive(container_id, BUNDLE_DIR, bundle_archive(bundle))
                committed = self._api.commit(
                    container_id,
                    repository=STEP_REPOSITORY,
                    tag=tag.split(":")[1],
                    conf={
                        "Labels": {
                            labels.ROLE: labels.ROLE_BUNDLE,
                            labels.LAYER_KEY: key,
                            "stepwell.step": bundle.manifest.ref,
                            "stepwell.bundle_digest": bundle.digest,
                        },
                        "Cmd": RUNNER_COMMAND,
                    },
                )
            finally:
                self._api.remove_container(container_id, force=True)
        except (APIError, RequestException) as exc:
            raise SandboxError(f"cannot prepare the step image: {exc}") from exc
        return str(committed["Id"])


def bundle_archive(bundle: Bundle) -> bytes:
    """The bundle's files as a tar rooted at the bundle directory, owned by root, read-only."""
    directories: set[str] = set()
    for path in bundle.files:
        parts = path.split("/")[:-1]
        directories.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for directory in sorted(directories):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o555
            tar.addfile(info)
        for path in sorted(bundle.files):
            content = bundle.files[path]
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = 0o444
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()
