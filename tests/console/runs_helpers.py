"""What the run-page tests put on the stack through the public API: steps that sleep or fail,
flows using them, runs started by hand."""

from __future__ import annotations

import secrets
import textwrap
import time
from typing import Any

import httpx

from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Manifest


def inline_step(name: str, source: str, **options: Any) -> Bundle:
    """A bundle from inline SDK source whose module is ``step.py`` (as tests/flows builds them)."""
    manifest = Manifest.model_validate(
        {"name": name, "version": "1.0.0", "entrypoint": "step:main", **options}
    )
    return build_bundle(manifest, {"step.py": textwrap.dedent(source).encode()})


SLEEPER = inline_step(
    "console.sleep",
    """
    import time
    from step_sdk import step

    @step(name="console.sleep", version="1.0.0", timeout_s=120)
    def main(seconds: float) -> dict[str, float]:
        print("going to sleep", flush=True)
        time.sleep(seconds)
        print("awake", flush=True)
        return {"slept": seconds}
    """,
    limits={"timeout_s": 120},
)

FAILER = inline_step(
    "console.fail",
    """
    from step_sdk import step

    @step(name="console.fail", version="1.0.0")
    def main(name: str) -> dict[str, str]:
        print("about to fail", flush=True)
        raise ValueError(f"no luck for {name}")
    """,
    retry={"max_attempts": 1},
)


def push_step(api: httpx.Client, bundle: Bundle) -> None:
    """Push a step bundle (POST /v1/steps); pushing the same bytes again is fine."""
    files = {"bundle": (f"{bundle.manifest.name}.tgz", bundle.data, "application/gzip")}
    answer = api.post("/v1/steps", files=files)
    assert answer.status_code in (200, 201), answer.text


def save_flow(api: httpx.Client, definition: dict[str, Any]) -> str:
    """Save a new flow (POST /v1/flows) under a unique name; returns its id."""
    named = {**definition, "name": f"{definition['name']}-{secrets.token_hex(3)}"}
    answer = api.post("/v1/flows", json={"definition": named})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def start_run(api: httpx.Client, flow_id: str, payload: Any = None) -> str:
    answer = api.post("/v1/runs", json={"flow_id": flow_id, "input": payload})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["run_id"])


def wait_closed(api: httpx.Client, run_id: str, timeout_s: float = 120) -> dict[str, Any]:
    """Poll GET /v1/runs/{id} until the run has ended (test set-up, not what is asserted)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run: dict[str, Any] = api.get(f"/v1/runs/{run_id}").raise_for_status().json()
        if run["status"] != "running":
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not end in {timeout_s} s")


def sleep_flow(seconds: float) -> dict[str, Any]:
    return {
        "name": "sleepy",
        "steps": [{"id": "nap", "uses": "console.sleep@1.0.0", "with": {"seconds": seconds}}],
        "output": {"slept": "{{ steps.nap.output.slept }}"},
    }


FAIL_FLOW: dict[str, Any] = {
    "name": "failing",
    "steps": [
        {"id": "prepare", "uses": "console.sleep@1.0.0", "with": {"seconds": 0}},
        {
            "id": "boom",
            "uses": "console.fail@1.0.0",
            "with": {"name": "{{ trigger.name }}"},
            "needs": ["prepare"],
        },
    ],
}
