"""The runtime setting reaches the engine: steps run under it, and a wrong one is refused early."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import docker
import pytest

from activities.secrets import NoSecrets
from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope, StepContext
from sandbox.errors import SandboxError
from sandbox.launcher import Sandbox
from sandbox.runtimes import check_runtime, engine_runtimes
from stepwell.worker import run_worker
from stepwell_settings import Settings
from tests.sandbox.conftest import make_bundle

MISSING = "stepwell-no-such-runtime"


def test_runc_is_registered_and_starts_a_hardened_container(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, base_image: str
) -> None:
    assert "runc" in engine_runtimes(docker_client)
    check_runtime(
        docker_client, dataclasses.replace(sandbox_config, container_runtime="runc"), base_image
    )


def test_an_unregistered_runtime_is_refused_naming_the_setting(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig
) -> None:
    config = dataclasses.replace(sandbox_config, container_runtime=MISSING)
    with pytest.raises(SandboxError, match=f"STEPWELL_SANDBOX_RUNTIME={MISSING}.*runc"):
        check_runtime(docker_client, config)


def test_step_containers_are_created_under_the_configured_runtime(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, base_image: str, run_id: str
) -> None:
    """The engine itself refuses a runtime it does not know, so the setting is what it got."""
    config = dataclasses.replace(sandbox_config, container_runtime=MISSING)
    envelope = Envelope(input={}, context=StepContext(run_id=run_id))
    bundle = make_bundle("def main():\n    return 1\n")
    with pytest.raises(SandboxError, match=MISSING):
        Sandbox(docker_client, config).run(bundle, envelope)
    result = Sandbox(docker_client, dataclasses.replace(config, container_runtime="runc")).run(
        bundle, envelope
    )
    assert result.ok and result.output == 1


async def test_the_worker_refuses_to_start_under_an_unregistered_runtime(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    """It stops before connecting to Temporal (nothing listens at the address given)."""
    settings = Settings(
        home=tmp_path, sandbox_runtime=MISSING, temporal_address="127.0.0.1:9", pool_size=0
    )
    with pytest.raises(SandboxError, match=f"STEPWELL_SANDBOX_RUNTIME={MISSING}"):
        await run_worker(settings, NoSecrets())
