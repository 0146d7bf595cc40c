"""JavaScript steps get warm pools too: pooled node20 containers, used once, holding nothing."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import docker
import pytest

from sandbox import labels
from sandbox.config import ENV_ALLOWLIST, SandboxConfig
from sandbox.envelope import Envelope, StepContext
from sandbox.hardening import runner_command
from sandbox.launcher import Sandbox
from sandbox.layers import DEPS_REPOSITORY
from sandbox.pool_seed import recent_layer_images
from step_sdk.runtimes import NODE
from tests.sandbox.js_fixtures import make_js_bundle

WHO_AM_I = """
import fs from "node:fs";
import crypto from "node:crypto";
export default async () => {
  const seen = {};
  for (const path of ["/tmp/marker", "/work/marker"]) {
    seen[path] = fs.existsSync(path);
    fs.writeFileSync(path, "earlier tenant");
  }
  return { seen, token: crypto.randomBytes(8).toString("hex"), pid: process.pid };
};
"""


@pytest.fixture
def pooled(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, node_image: str
) -> Iterator[Sandbox]:
    """A sandbox whose pools are only what a test pins with ``warm`` (pool_size 0)."""
    sandbox = Sandbox(docker_client, replace(sandbox_config, pool_size=0, pool_idle_s=600))
    yield sandbox
    sandbox.close()


def _pooled_containers(client: docker.DockerClient) -> list[str]:
    filters = {
        "label": [f"{labels.ROLE}={labels.ROLE_POOLED}", f"{labels.OWNER}={labels.owner_id()}"]
    }
    return [str(c["Id"]) for c in client.api.containers(all=True, filters=filters)]


def test_js_steps_are_served_by_a_warm_pool_once_each(
    pooled: Sandbox, docker_client: docker.DockerClient, node_image: str, run_id: str
) -> None:
    bundle = make_js_bundle(WHO_AM_I)
    key = pooled.pool_key(bundle)
    assert key.runtime == NODE and key.image == node_image
    pooled.pools.warm(key, 2)
    assert pooled.pools.wait_ready(120), pooled.pools.stats()
    waiting = _pooled_containers(docker_client)
    assert len(waiting) == 2
    info = docker_client.api.inspect_container(waiting[0])
    # a pooled node20 container: the node runner (no --cold), the allowlisted environment, no
    # tenant label, nothing mounted
    assert info["Config"]["Cmd"] == runner_command(NODE, key.limits(), cold=False)
    assert sorted(info["Config"]["Env"]) == sorted(f"{k}={v}" for k, v in ENV_ALLOWLIST.items())
    assert labels.RUN_ID not in info["Config"]["Labels"] and info["Mounts"] == []

    envelope = Envelope(input={}, context=StepContext(run_id=run_id))
    results = [pooled.run(bundle, envelope) for _ in range(3)]
    for result in results:
        assert result.ok, (result.error, result.logs)
        assert result.output["seen"] == {"/tmp/marker": False, "/work/marker": False}
    ids = [result.container_id for result in results]
    assert len(set(ids)) == 3
    assert set(waiting) <= set(ids), "the first executions were served by the warm pool"
    assert pooled.pools.stats()["hits"] >= 2


def test_a_starting_worker_warms_the_node_image_too(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, node_image: str
) -> None:
    sandbox = Sandbox(docker_client, replace(sandbox_config, pool_size=1))
    try:
        keys = sandbox.seed_pools()
        assert any(key.runtime == NODE and key.image == node_image for key in keys)
    finally:
        sandbox.close()


def test_a_recently_used_npm_layer_is_seeded_with_the_node_runner(
    docker_client: docker.DockerClient, node_image: str, tmp_path: Path
) -> None:
    # a stand-in for an npm layer: the node20 image under a layer tag, with the layer labels
    key = "f" * 24 + os.urandom(8).hex()
    dockerfile = (
        f'FROM {node_image}\nLABEL {labels.ROLE}="{labels.ROLE_DEPS}" {labels.RUNTIME}="{NODE}"\n'
    ).encode()
    image, _ = docker_client.images.build(
        fileobj=io.BytesIO(dockerfile), tag=f"{DEPS_REPOSITORY}:{key[:40]}", network_mode="none"
    )
    try:
        (tmp_path / f"{key}.used").touch()
        assert recent_layer_images(docker_client, tmp_path, 900, 3) == [(str(image.id), NODE)]
    finally:
        docker_client.images.remove(str(image.id), force=True)
