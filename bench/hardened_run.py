"""The benchmarks' baseline: one hardened ``docker run --rm`` of a base image, via the SDK."""

from __future__ import annotations

import time

import docker

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.hardening import container_kwargs, host_config_kwargs
from step_sdk.manifest import Limits

RUN_ID = "bench"


def hardened_run(
    client: docker.DockerClient,
    config: SandboxConfig,
    image_id: str,
    command: tuple[str, ...] = ("python3", "-c", "pass"),
) -> None:
    """Create, start, wait for and remove a sandbox-hardened container running ``command``
    (``python3 -c pass``; ``node -e 0`` for the node20 image)."""
    api, now = client.api, int(time.time())
    step_labels = {
        labels.ROLE: labels.ROLE_STEP,
        labels.RUN_ID: RUN_ID,
        labels.CREATED: str(now),
        labels.EXPIRES: str(now + 600),
    }
    created = api.create_container(
        host_config=api.create_host_config(**host_config_kwargs(config, Limits())),
        **container_kwargs(image_id, step_labels, list(command)),
    )
    try:
        api.start(created["Id"])
        status = api.wait(created["Id"], timeout=60)
        assert status["StatusCode"] == 0, status
    finally:
        api.remove_container(created["Id"], force=True)
