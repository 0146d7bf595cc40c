"""The Node.js runtime image, ``stepwell/runtime-node20``: Node 20 plus the JavaScript runner.

Built like the Python image (``sandbox.images``): the root filesystem is ``node:20-slim`` where a
registry answers, otherwise Debian trixie minbase with ``nodejs`` (20.19) built offline
(``sandbox.rootfs``); the same layout on top (``/opt/stepwell/runner.mjs``, an empty
``/opt/stepwell/bundle`` for the bundle's tmpfs and ``/opt/stepwell/node_modules`` that a
dependency layer fills), the same allowlisted environment, user 65534 and labels. Its tag carries
a digest of what Stepwell adds, so a new runner gives a new image.
"""

from __future__ import annotations

import hashlib
import io
import json
from importlib import resources

import docker
from docker.errors import APIError, BuildError, ImageNotFound

from sandbox import labels
from sandbox.config import (
    ENV_ALLOWLIST,
    NODE_REGISTRY_IMAGE,
    NODE_ROOTFS_IMAGE,
    SandboxConfig,
)
from sandbox.errors import ImageBuildError
from sandbox.images import _tar
from sandbox.rootfs import Log, RootfsSource, ensure_rootfs

RUNTIME = "node20"
RUNNER_PATH = "/opt/stepwell/runner.mjs"
NODE_ROOTFS = RootfsSource(
    image=NODE_ROOTFS_IMAGE,
    registry_image=NODE_REGISTRY_IMAGE,
    suite="trixie",
    include="nodejs",
    archive="rootfs-trixie-nodejs.tar",
)


def runner_source() -> bytes:
    """The JavaScript runner, read from the installed ``step_sdk`` package."""
    return resources.files("step_sdk").joinpath("runner.mjs").read_bytes()


def _context_files() -> dict[str, bytes | None]:
    return {
        "opt/stepwell/runner.mjs": runner_source(),
        "opt/stepwell/bundle/": None,
        "opt/stepwell/node_modules/": None,
    }


def _dockerfile(rootfs: str, content: str) -> str:
    env = " ".join(f"{k}={v}" for k, v in sorted(ENV_ALLOWLIST.items()))
    return "\n".join(
        [
            f"FROM {rootfs}",
            "COPY opt/ /opt/",
            # node must be there, and be 20: a rootfs of another major would run steps silently
            "RUN node -e \"process.exit(process.versions.node.split('.')[0] === '20' ? 0 : 1)\"",
            # The tmpfs mounted on /work takes this directory's mode, so make it writable.
            "RUN mkdir -p -m 1777 /work",
            f"ENV {env}",
            "WORKDIR /work",
            "USER 65534:65534",
            f'LABEL {labels.ROLE}="{labels.ROLE_BASE}" {labels.CONTENT}="{content}" '
            f'stepwell.runtime="{RUNTIME}"',
            f"CMD {json.dumps(['node', RUNNER_PATH])}",
            "",
        ]
    )


def content_digest() -> str:
    """Digest of what Stepwell adds on top of the root filesystem."""
    body = _tar(_context_files()) + _dockerfile(f"{NODE_ROOTFS_IMAGE}:latest", "").encode()
    return hashlib.sha256(body).hexdigest()[:16]


class NodeImageBuilder:
    """Builds (once) and finds the Node.js runtime image; the same interface as
    :class:`sandbox.images.ImageBuilder`."""

    def __init__(self, client: docker.DockerClient, config: SandboxConfig, log: Log = print):
        self._client = client
        self._config = config
        self._log = log

    @property
    def tag(self) -> str:
        """The tag of the image matching this installation's runner."""
        return f"{self._config.node_image}:{content_digest()}"

    def find(self) -> str | None:
        """The id of the current image, or None when it has not been built."""
        try:
            return str(self._client.images.get(self.tag).id)
        except ImageNotFound:
            return None

    def ensure(self, *, rebuild: bool = False, source: str = "auto") -> str:
        """Return the image id, building whatever is missing.

        Args:
            rebuild: build again even when an image for this runner exists.
            source: ``auto`` (pull, else debootstrap), ``pull`` or ``debootstrap``.

        Raises:
            ImageBuildError: the root filesystem or the image cannot be made.
        """
        if not rebuild and (found := self.find()):
            return found
        rootfs = ensure_rootfs(
            self._client,
            self._config.cache_dir,
            NODE_ROOTFS,
            self._log,
            source=source,
            rebuild=rebuild,
        )
        dockerfile = _dockerfile(rootfs, content_digest())
        context = _tar({**_context_files(), "Dockerfile": dockerfile.encode()})
        self._log(f"building {self.tag} on {rootfs}")
        try:
            image, _ = self._client.images.build(
                fileobj=io.BytesIO(context),
                custom_context=True,
                tag=self.tag,
                rm=True,
                forcerm=True,
                network_mode="none",
                pull=False,
            )
        except (BuildError, APIError) as exc:
            raise ImageBuildError(f"building the Node.js image failed: {exc}") from exc
        image.tag(self._config.node_image, "latest")
        return str(image.id)
