"""Flows, inline steps and calls the /v1/runs tests share."""

from __future__ import annotations

import asyncio
import json
import textwrap
from typing import Any

import httpx

from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Manifest
from tests.api.helpers import WorkspaceKey

SLUG_FLOW: dict[str, Any] = {
    "name": "slug",
    "steps": [{"id": "clean", "uses": "text.slugify@1.0.0", "with": {"text": "{{ trigger.t }}"}}],
    "output": {"slug": "{{ steps.clean.output.slug }}"},
}


def inline_step(name: str, source: str, **options: Any) -> Bundle:
    """A bundle from inline SDK source whose module is ``step.py``."""
    manifest = Manifest.model_validate(
        {"name": name, "version": "1.0.0", "entrypoint": "step:main", **options}
    )
    return build_bundle(manifest, {"step.py": textwrap.dedent(source).encode()})


CHATTY = inline_step(
    "test.chatty",
    """
    import time
    from step_sdk import step

    @step(name="test.chatty", version="1.0.0")
    def main(pause: float) -> dict[str, str]:
        print("first line", flush=True)
        time.sleep(pause)
        print("second line", flush=True)
        return {"said": "both"}
    """,
)


FAILING = inline_step(
    "test.failing",
    """
    from step_sdk import step

    @step(name="test.failing", version="1.0.0")
    def main() -> int:
        print("about to fail", flush=True)
        raise ValueError("no luck")
    """,
    retry={"max_attempts": 2, "initial_interval_s": 0.1},
)


def chatty_flow(pause: float) -> dict[str, Any]:
    return {
        "name": "chatty",
        "steps": [{"id": "talk", "uses": "test.chatty@1.0.0", "with": {"pause": pause}}],
    }


async def start(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    flow_id: str,
    payload: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    answer = await client.post(
        "/v1/runs", json={"flow_id": flow_id, "input": payload, **extra}, headers=workspace.headers
    )
    assert answer.status_code == 201, answer.text
    started: dict[str, Any] = answer.json()
    return started


async def step_running(
    client: httpx.AsyncClient, workspace: WorkspaceKey, run_id: str, step_id: str
) -> dict[str, Any]:
    for _ in range(300):
        run: dict[str, Any] = (
            await client.get(f"/v1/runs/{run_id}", headers=workspace.headers)
        ).json()
        if run["steps"][step_id]["status"] == "running":
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"step {step_id} of {run_id} never ran")


def parse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith(":")]
        if not lines:
            continue
        event = next(line[7:] for line in lines if line.startswith("event: "))
        data = "\n".join(line[6:] for line in lines if line.startswith("data: "))
        events.append((event, json.loads(data)))
    return events
