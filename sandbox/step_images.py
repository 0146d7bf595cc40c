"""The image a step runs in: the base image, or the dependency layer of its requirements.

A step's own code is no part of any image (contract 2): it travels in the envelope and the runner
unpacks it into a tmpfs, so every step with the same requirements runs in the same image and a
warm pool of that image can serve all of them. (Before pooling, a bundle layer was committed per
bundle; ``sandbox.janitor`` still removes those, labelled ``stepwell.role=bundle``.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

import docker
from docker.errors import APIError, ImageNotFound
from requests.exceptions import RequestException

from sandbox.base_images import BaseImage
from sandbox.browser_image import BrowserImageBuilder
from sandbox.config import SandboxConfig
from sandbox.errors import SandboxError
from sandbox.images import ImageBuilder
from sandbox.layers import DependencyLayers
from sandbox.node_image import NodeImageBuilder
from sandbox.npm_layers import NpmLayers
from step_sdk.bundle import Bundle
from step_sdk.requirements import parse_requirements
from step_sdk.runtimes import NODE, PYTHON, PYTHON_BROWSER

Progress = Callable[[str], None]
# A layer reused from the in-process cache is marked used again at most this often (seconds):
# its marker and the layer_use table only need to be fresher than the layer GC's maximum age.
MARK_USED_EVERY_S = 60.0


class NodeLayers(Protocol):
    """Finds or builds the npm dependency layer of a requirement set (``name@version``)."""

    def ensure(
        self, base_image_id: str, requirements: Sequence[str], progress: Progress | None = None
    ) -> str: ...

    def key(self, base_image_id: str, requirements: Sequence[str]) -> str: ...

    def mark_used(self, key: str) -> None: ...


class StepImages:
    """Resolves a bundle to the id of the image it runs in, building missing layers once."""

    def __init__(
        self,
        client: docker.DockerClient,
        config: SandboxConfig,
        base: ImageBuilder | None = None,
        layers: DependencyLayers | None = None,
        node_base: BaseImage | None = None,
        node_layers: NodeLayers | None = None,
        on_layer_use: Callable[[str], None] | None = None,
        browser_base: BaseImage | None = None,
    ) -> None:
        self._client = client
        self._config = config
        self.base = base or ImageBuilder(client, config)
        self.layers = layers or DependencyLayers(client, config, on_layer_use)
        self.node_base: BaseImage = node_base or NodeImageBuilder(client, config)
        self.node_layers: NodeLayers = node_layers or NpmLayers(client, config, on_layer_use)
        self.browser_base: BaseImage = browser_base or BrowserImageBuilder(client, config)
        # (runtime, requirements) -> (image id, layer key or None, when last marked used
        # (time.monotonic())): resolving is on every execution's path
        self._resolved: dict[tuple[str, tuple[str, ...]], tuple[str, str | None, float]] = {}

    def base_image_id(self, runtime: str = PYTHON) -> str:
        """The id of ``runtime``'s base image.

        Raises:
            SandboxError: it has not been built (the message says how to build it).
        """
        base = {NODE: self.node_base, PYTHON_BROWSER: self.browser_base}.get(runtime, self.base)
        found = base.find()
        if found is None:
            raise SandboxError(f"the base image {base.tag} is missing: run 'stepwell images build'")
        return found

    def for_bundle(self, bundle: Bundle, progress: Progress | None = None) -> str:
        """The image id to run ``bundle`` in: its dependency layer, or its runtime's base image.

        Raises:
            SandboxError: the base image is missing.
            DependencyError: the requirements cannot be resolved or installed.
        """
        runtime = bundle.manifest.runtime
        requirements = tuple(sorted(bundle.manifest.requirements))
        cached = self._resolved.get((runtime, requirements))
        if cached is not None and self._exists(cached[0]):
            image_id, used_key, marked = cached
            if used_key is not None and time.monotonic() - marked >= MARK_USED_EVERY_S:
                (self.node_layers if runtime == NODE else self.layers).mark_used(used_key)
                self._resolved[(runtime, requirements)] = (image_id, used_key, time.monotonic())
            return image_id
        base_id = self.base_image_id(runtime)
        key: str | None = None
        if runtime == NODE:
            image_id = self._node_image(base_id, requirements, progress)
            key = self.node_layers.key(base_id, requirements) if requirements else None
        else:
            parsed = parse_requirements(list(requirements))
            image_id = self.layers.ensure(base_id, parsed, progress)
            key = self.layers.key(base_id, parsed) if parsed else None
        self._resolved[(runtime, requirements)] = (image_id, key, time.monotonic())
        return image_id

    def _node_image(
        self, base_id: str, requirements: tuple[str, ...], progress: Progress | None
    ) -> str:
        if not requirements:
            return base_id
        return self.node_layers.ensure(base_id, requirements, progress)

    def _exists(self, image_id: str) -> bool:
        try:
            self._client.images.get(image_id)
        except ImageNotFound:
            return False
        except (APIError, RequestException) as exc:
            raise SandboxError(f"cannot reach the Docker engine: {exc}") from exc
        return True
