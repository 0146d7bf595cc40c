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
import json
from importlib import resources

from sandbox import labels
from sandbox.config import (
    ENV_ALLOWLIST,
    NODE_REGISTRY_IMAGE,
    NODE_ROOTFS_IMAGE,
)
from sandbox.images import RuntimeImage, _tar
from sandbox.rootfs import RootfsSource, ensure_rootfs

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


class NodeImageBuilder(RuntimeImage):
    """Builds (once) and finds the Node.js runtime image; the same interface as
    :class:`sandbox.images.ImageBuilder`."""

    what = "the Node.js image"

    def repository(self) -> str:
        return self._config.node_image

    def digest(self) -> str:
        return content_digest()

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
        return self._build(rootfs, context)
