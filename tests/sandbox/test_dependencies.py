"""Dependency layers (contract 4): pinned wheels only, built once without network, reused."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import docker
import pytest
from pydantic import ValidationError

from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope, StepContext
from sandbox.errors import DependencyError
from sandbox.launcher import Sandbox
from sandbox.layers import DEPS_REPOSITORY, DependencyLayers, layer_key
from step_sdk.manifest import Manifest
from step_sdk.requirements import parse_requirements
from tests.sandbox.conftest import make_bundle

pytestmark = pytest.mark.network

# Small pure-Python wheels, pinned.
REQUIREMENTS = ["six==1.16.0", "text-unidecode==1.3"]


@pytest.fixture
def fresh_layer(docker_client: docker.DockerClient, base_image: str) -> Iterator[str]:
    """The layer key of REQUIREMENTS, with any earlier build of it removed first and after."""
    key = layer_key(base_image, parse_requirements(REQUIREMENTS))

    def drop() -> None:
        # Step layers stand on dependency layers: they go first (they are only caches).
        for image in docker_client.images.list(filters={"label": "stepwell.role=bundle"}):
            try:
                docker_client.images.remove(str(image.id), force=True)
            except docker.errors.APIError as exc:
                # In use by a container of another process on this engine (a `stepwell up`, a
                # second test run): not one of ours, and not built on this layer.
                if exc.status_code != 409:
                    raise
        for image in docker_client.images.list(name=DEPS_REPOSITORY):
            if any(tag.endswith(key[:40]) for tag in image.tags):
                docker_client.images.remove(str(image.id), force=True)

    drop()
    yield key
    drop()


@pytest.mark.parametrize(
    "spec",
    [
        "https://evil.example/pkg.whl",
        "pkg @ https://evil.example/pkg.whl",
        "git+https://evil.example/pkg",
        "./local/path",
        "/abs/path",
        "-e .",
        "--index-url=https://evil.example/simple",
        "--extra-index-url https://evil.example",
        "requests>=2",
        "requests",
        "requests==2.0; python_version > '3'",
    ],
)
def test_requirement_with_url_path_or_option_is_rejected_before_anything_runs(
    spec: str, docker_client: docker.DockerClient
) -> None:
    before = len(docker_client.api.containers(all=True))
    with pytest.raises(ValidationError) as caught:
        Manifest(name="x.y", version="1.0.0", entrypoint="m:f", requirements=(spec,))
    assert "requirements" in str(caught.value)
    assert len(docker_client.api.containers(all=True)) == before


def test_layer_is_built_once_for_concurrent_requests_and_reused(
    docker_client: docker.DockerClient,
    sandbox_config: SandboxConfig,
    base_image: str,
    fresh_layer: str,
) -> None:
    layers = DependencyLayers(docker_client, sandbox_config)
    requirements = parse_requirements(REQUIREMENTS)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(layers.ensure(base_image, requirements)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and len(set(results)) == 1
    assert layers.builds == 1
    assert layers.ensure(base_image, requirements) == results[0]
    assert layers.builds == 1


def test_step_imports_its_requirements_in_the_sandbox(sandbox: Sandbox, run_id: str) -> None:
    bundle = make_bundle(
        """
        import six, text_unidecode
        def main(text):
            return {"six": six.__version__, "ascii": text_unidecode.unidecode(text),
                    "where": six.__file__}
        """,
        requirements=tuple(REQUIREMENTS),
    )
    result = sandbox.run(
        bundle, Envelope(input={"text": "Crème brûlée"}, context=StepContext(run_id=run_id))
    )
    assert result.error is None, result.error
    assert result.output["six"] == "1.16.0"
    assert result.output["ascii"] == "Creme brulee"
    assert result.output["where"].startswith("/opt/stepwell/deps/")


def test_package_without_a_wheel_is_a_dependency_error_naming_it(
    sandbox: Sandbox, run_id: str
) -> None:
    bundle = make_bundle("def main():\n    return 1\n", requirements=("docopt==0.6.2",))
    with pytest.raises(DependencyError, match=r"docopt==0\.6\.2"):
        sandbox.run(bundle, Envelope(input={}, context=StepContext(run_id=run_id)))


def test_unknown_package_is_a_dependency_error_naming_it(sandbox: Sandbox, run_id: str) -> None:
    bundle = make_bundle(
        "def main():\n    return 1\n", requirements=("stepwell-no-such-package-xyz==1.0.0",)
    )
    with pytest.raises(DependencyError, match="stepwell-no-such-package-xyz"):
        sandbox.run(bundle, Envelope(input={}, context=StepContext(run_id=run_id)))
