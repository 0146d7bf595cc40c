"""Browser steps for the sandbox tests: ``python3.11-browser`` bundles from inline source, run for
real in the ``stepwell/runtime-python3.11-browser`` image (built if missing; set-up builds it).

``run_browser(source, payload, files=..., egress=..., **limits)`` runs a bundle whose
``step.py`` is ``source`` (dedented, its ``main`` the entrypoint) plus ``files``, under the test's
run id (``tests/sandbox/conftest.py``).
"""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import docker
import pytest

from sandbox import labels
from sandbox.browser_image import BrowserImageBuilder
from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope, StepContext
from sandbox.launcher import Sandbox
from sandbox.result import StepResult
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Manifest
from step_sdk.runtimes import PYTHON_BROWSER

RunBrowser = Callable[..., StepResult]


def make_browser_bundle(
    source: str,
    *,
    files: Mapping[str, str | bytes] | None = None,
    egress: tuple[str, ...] = (),
    requirements: tuple[str, ...] = (),
    **limits: Any,
) -> Bundle:
    """A python3.11-browser bundle whose ``step.py`` is ``source`` (dedented), plus ``files``."""
    manifest = Manifest.model_validate(
        {
            "name": "tests.browser-attack",
            "version": "1.0.0",
            "runtime": PYTHON_BROWSER,
            "entrypoint": "step:main",
            "egress": list(egress),
            "requirements": list(requirements),
            "limits": {"timeout_s": 60, **limits},
        }
    )
    sources = {"step.py": textwrap.dedent(source).encode()}
    for name, content in (files or {}).items():
        sources[name] = content.encode() if isinstance(content, str) else content
    return build_bundle(manifest, sources)


@pytest.fixture(scope="session")
def browser_image(docker_client: docker.DockerClient, sandbox_config: SandboxConfig) -> str:
    """The browser runtime image of this checkout, built if missing."""
    return BrowserImageBuilder(docker_client, sandbox_config, log=lambda _m: None).ensure()


def browser_runner(sandbox: Sandbox, run_id: str) -> RunBrowser:
    """``run_browser`` for ``sandbox`` (the plain one, or the egress tests' one)."""

    def run(
        source: str,
        payload: Any = None,
        *,
        files: Mapping[str, str | bytes] | None = None,
        egress: tuple[str, ...] = (),
        requirements: tuple[str, ...] = (),
        **limits: Any,
    ) -> StepResult:
        bundle = make_browser_bundle(
            source, files=files, egress=egress, requirements=requirements, **limits
        )
        envelope = Envelope(
            input={} if payload is None else payload,
            context=StepContext(run_id=run_id, step_id="browser"),
        )
        return sandbox.run(bundle, envelope)

    return run


@pytest.fixture
def run_browser(sandbox: Sandbox, browser_image: str, run_id: str) -> RunBrowser:
    """Run inline browser step source in the real sandbox (no network)."""
    return browser_runner(sandbox, run_id)


def while_running(
    run: Callable[[], StepResult], probe: Callable[[], bool], timeout_s: float = 60
) -> StepResult:
    """Run ``run`` in a thread and call ``probe`` meanwhile until it returns True (or ``run``
    ends); return the result. Fails the test if ``probe`` never succeeded before the end."""
    outcome: list[StepResult] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(run())
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    probed = False
    while thread.is_alive() and time.monotonic() < deadline and not probed:
        probed = probe()
        if not probed:
            time.sleep(0.1)  # polling interval, not a synchronisation
    thread.join(timeout_s)
    if failure:
        raise failure[0]
    assert probed, "the probe never saw what it was looking for while the step ran"
    return outcome[0]


def step_containers(client: docker.DockerClient, run_id: str) -> list[dict[str, Any]]:
    """The engine's view (inspect) of the running containers labelled with ``run_id``."""
    found = client.api.containers(filters={"label": f"{labels.RUN_ID}={run_id}"})
    return [client.api.inspect_container(c["Id"]) for c in found]
