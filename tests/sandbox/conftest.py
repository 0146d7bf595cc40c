"""Helpers for sandbox tests: build a bundle from inline source and run it for real."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from sandbox import labels
from sandbox.envelope import Envelope, StepContext
from sandbox.launcher import Sandbox
from sandbox.result import StepResult
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Limits, Manifest
from tests.sandbox.browser_fixtures import browser_image, run_browser  # noqa: F401 - fixtures
from tests.sandbox.egress_fixtures import run_egress  # noqa: F401 - a fixture
from tests.sandbox.egress_harness import (
    ProxyProcess,
    Upstream,
    build_layout,
    running_proxy,
    running_upstream,
)
from tests.sandbox.js_fixtures import node_image, run_js  # noqa: F401 - fixtures

pytestmark = pytest.mark.docker

RunStep = Callable[..., StepResult]


def make_bundle(source: str, *, requirements: tuple[str, ...] = (), **limits: Any) -> Bundle:
    """A bundle whose ``main`` function in ``step.py`` is ``source`` (dedented)."""
    manifest = Manifest(
        name="tests.attack",
        version="1.0.0",
        entrypoint="step:main",
        requirements=requirements,
        limits=Limits(**{"timeout_s": 20, **limits}),
    )
    return build_bundle(manifest, {"step.py": textwrap.dedent(source).encode()})


@pytest.fixture
def run_id() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def run_step(sandbox: Sandbox, run_id: str) -> RunStep:
    """Run inline step source in the real sandbox under this test's run id."""

    def run(source: str, payload: Any = None, **limits: Any) -> StepResult:
        bundle = make_bundle(source, **limits)
        envelope = Envelope(input=payload or {}, context=StepContext(run_id=run_id))
        return sandbox.run(bundle, envelope)

    return run


@pytest.fixture(autouse=True)
def no_container_left_behind(docker_client: docker.DockerClient, run_id: str) -> Iterator[None]:
    """Every test also checks the sandbox removed every container it made for the test."""
    yield
    left = docker_client.api.containers(all=True, filters={"label": f"{labels.RUN_ID}={run_id}"})
    assert left == [], f"containers left behind: {[c['Id'][:12] for c in left]}"


# The egress proxy program's own tests (test_egress_proxy_*.py): the program laid out as in its
# image, once per module; a running proxy process and an upstream server per test.
@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layout(tmp_path_factory.mktemp("egress-layout"))


@pytest.fixture
def proxy(program: Path) -> Iterator[ProxyProcess]:
    yield from running_proxy(program)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    yield from running_upstream()


def host_processes_with(marker: str) -> list[str]:
    """Pids of the host's processes whose command line contains ``marker`` (what a step left
    running would show up as, seen from the host)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if marker.encode() in handle.read():
                    found.append(pid)
        except OSError:
            continue
    return found
