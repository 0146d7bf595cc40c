"""JavaScript steps for the sandbox tests: bundles from inline ES module source, run for real.

``make_js_bundle`` builds a node20 bundle whose ``step.mjs`` is the given source (dedented), as
``stepwell step build`` builds one from a step directory; ``run_js`` runs it in the real sandbox
under the test's run id (``tests/sandbox/conftest.py``), in the ``stepwell/runtime-node20`` image.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import docker
import pytest

from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope, StepContext
from sandbox.launcher import Sandbox
from sandbox.node_image import NodeImageBuilder
from sandbox.result import StepResult
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Limits, Manifest
from step_sdk.runtimes import NODE

RunJs = Callable[..., StepResult]


def make_js_bundle(
    source: str,
    *,
    secrets: tuple[str, ...] = (),
    files: Mapping[str, str] | None = None,
    **limits: Any,
) -> Bundle:
    """A node20 bundle whose ``step.mjs`` is ``source`` (dedented), plus ``files``."""
    manifest = Manifest(
        name="tests.js-attack",
        version="1.0.0",
        runtime=NODE,
        entrypoint="step.mjs",
        secrets=secrets,
        limits=Limits(**{"timeout_s": 20, **limits}),
    )
    sources = {"step.mjs": textwrap.dedent(source).encode()}
    sources.update({name: text.encode() for name, text in (files or {}).items()})
    return build_bundle(manifest, sources)


@pytest.fixture(scope="session")
def node_image(docker_client: docker.DockerClient, sandbox_config: SandboxConfig) -> str:
    """The node20 runtime image of this checkout, built if missing."""
    return NodeImageBuilder(docker_client, sandbox_config, log=lambda _m: None).ensure()


@pytest.fixture
def run_js(sandbox: Sandbox, node_image: str, run_id: str) -> RunJs:
    """Run inline ES module source (its default export) in the real sandbox."""

    def run(
        source: str,
        payload: Any = None,
        *,
        secrets: Mapping[str, str] | None = None,
        declared: tuple[str, ...] = (),
        files: Mapping[str, str] | None = None,
        **limits: Any,
    ) -> StepResult:
        bundle = make_js_bundle(source, secrets=declared, files=files, **limits)
        envelope = Envelope(
            input={} if payload is None else payload,
            secrets=dict(secrets or {}),
            context=StepContext(
                run_id=run_id, step_id="js", attempt=2, deadline="2030-01-02T03:04:05Z"
            ),
        )
        return sandbox.run(bundle, envelope)

    return run
