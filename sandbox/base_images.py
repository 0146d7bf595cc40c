"""Each runtime's base image builder, by runtime name (``step_sdk.runtimes``).

``python3.11`` -> :class:`sandbox.images.ImageBuilder` (``stepwell/runtime-python3.11``),
``python3.11-browser`` -> :class:`sandbox.browser_image.BrowserImageBuilder`
(``stepwell/runtime-python3.11-browser``),
``node20`` -> :class:`sandbox.node_image.NodeImageBuilder` (``stepwell/runtime-node20``). All
find, build and tag their image the same way; callers that build "the base images" (``stepwell
images build``, ``stepwell up``, set-up) build every one listed here.
"""

from __future__ import annotations

from typing import Protocol

import docker

from sandbox.browser_image import BrowserImageBuilder
from sandbox.config import SandboxConfig
from sandbox.images import ImageBuilder
from sandbox.node_image import NodeImageBuilder
from sandbox.rootfs import Log
from step_sdk.runtimes import NODE, PYTHON, PYTHON_BROWSER

RUNTIMES = (PYTHON, NODE, PYTHON_BROWSER)


class BaseImage(Protocol):
    """A runtime's base image builder."""

    @property
    def tag(self) -> str: ...

    def find(self) -> str | None: ...

    def ensure(self, *, rebuild: bool = False, source: str = "auto") -> str: ...


def base_builder(
    client: docker.DockerClient, config: SandboxConfig, runtime: str = PYTHON, log: Log = print
) -> BaseImage:
    """The builder of ``runtime``'s base image.

    Raises:
        ValueError: ``runtime`` is not one of ``RUNTIMES``.
    """
    if runtime == PYTHON:
        return ImageBuilder(client, config, log=log)
    if runtime == NODE:
        return NodeImageBuilder(client, config, log=log)
    if runtime == PYTHON_BROWSER:
        return BrowserImageBuilder(client, config, log=log)
    raise ValueError(f"unsupported runtime {runtime!r}; supported: {', '.join(RUNTIMES)}")
