"""Which pools a starting worker warms before any step asks: what was used lately.

The Python base image (no network, default limits) is what most steps run in; the launcher adds
the node20 image when it is built (``Sandbox.seed_pools``). Dependency layers record
their last use in ``<cache>/layers/<key>.used`` (``sandbox.layers``); those used within the
pools' ``keep_warm_s`` get a pool too (no network, default limits), the most recent first. A
layer nobody used for that long gets none.
"""

from __future__ import annotations

import time
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound
from requests.exceptions import RequestException

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.layers import DEPS_REPOSITORY
from sandbox.pool_keys import PoolKey
from step_sdk.manifest import Limits
from step_sdk.runtimes import PYTHON, RUNTIMES


def recent_layer_images(
    client: docker.DockerClient, state_dir: Path, max_age_s: float, limit: int
) -> list[tuple[str, str]]:
    """``(image id, runtime)`` of dependency-layer images used within ``max_age_s``, most recent
    first; the runtime is the layer's ``stepwell.runtime`` label (Python and npm layers share
    the markers, and a pooled container must start its runtime's runner)."""
    now = time.time()
    used: list[tuple[float, str]] = []
    for marker in state_dir.glob("*.used"):
        try:
            age = now - marker.stat().st_mtime
        except FileNotFoundError:
            continue
        if age <= max_age_s:
            used.append((age, marker.name.removesuffix(".used")))
    images = []
    for _age, key in sorted(used):
        try:
            image = client.images.get(f"{DEPS_REPOSITORY}:{key[:40]}")
        except (ImageNotFound, APIError, RequestException):
            continue
        runtime = (image.labels or {}).get(labels.RUNTIME, PYTHON)
        if runtime not in RUNTIMES:
            continue
        images.append((str(image.id), runtime))
        if len(images) >= limit:
            break
    return images


def seed_keys(
    client: docker.DockerClient, config: SandboxConfig, base_image_id: str
) -> list[PoolKey]:
    """The keys to warm at start: the base image, then recently used layers (no network,
    default limits), at most ``config.pool_max_keys``."""
    defaults = Limits()
    layers = recent_layer_images(
        client, config.cache_dir / "layers", config.pool_keep_warm_s, config.pool_max_keys - 1
    )
    return [
        PoolKey.of(image, defaults, egress=False, runtime=runtime)
        for image, runtime in [(base_image_id, PYTHON), *layers]
    ]
