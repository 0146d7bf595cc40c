"""Reading runs always answers: stored values JSON cannot carry, failed runs, their events.

A run's history can hold values the edges now refuse (written by an older version, or by a
step): reads escape them instead of answering 500. A failed run's events end with ``end``.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx

from step_sdk.bundle import Bundle
from tests.api.helpers import WorkspaceKey, assert_error, finished, insert_flow, insert_step
from tests.api.runs.helpers import inline_step, parse_events, start
from ui_api.db import session_scope
from ui_api.runs.launcher import start_run
from ui_api.services import Services
from ui_api.steps.models import StepVersion
from workflows.types import FlowRunInput

SLOW_FAILURE = inline_step(
    "test.slowfail",
    """
    import time
    from step_sdk import step

    @step(name="test.slowfail", version="1.0.0")
    def main(pause: float) -> int:
        print("working", flush=True)
        time.sleep(pause)
        raise ValueError("no luck")
    """,
    retry={"max_attempts": 1},
)
SLUG_FLOW_OLD: dict[str, Any] = {
    "name": "old",
    "steps": [{"id": "clean", "uses": "text.slugify@1.0.0", "with": {"text": "x"}}],
}
FAILING_FLOW: dict[str, Any] = {
    "name": "fails",
    "steps": [{"id": "work", "uses": "test.slowfail@1.0.0", "with": {"pause": "{{ trigger.p }}"}}],
}


async def _stored_run(services: Services, workspace: WorkspaceKey, flow_id: str = "flw_old") -> str:
    """A closed run whose history holds lone surrogates (in texts, keys, a step id) and NaN,
    started past the API's edge as an older version could have, on a queue no worker polls."""
    run_input = FlowRunInput(
        definition={
            "name": "old",
            "steps": [{"id": "clean\ud800", "uses": "text.slugify@1.0.0", "with": {}}],
        },
        steps={},
        trigger={"company": "ACME \ud83d", "values": [float("nan"), 70], "k\udce9": "caf\udce9"},
        workspace_id=workspace.workspace_id,
        flow_id=flow_id,
        flow_version=1,
    )
    settings = services.settings.model_copy(update={"task_queue": f"idle-{secrets.token_hex(4)}"})
    started = await start_run(services.temporal, settings, run_input, trigger_kind="webhook")
    await services.temporal.get_workflow_handle(started.run_id).terminate("test: ended")
    return started.run_id


async def test_stored_values_json_cannot_carry_are_escaped_on_every_read(
    client: httpx.AsyncClient, workspace: WorkspaceKey, api_services: Services
) -> None:
    run_id = await _stored_run(api_services, workspace)
    answer = await client.get(f"/v1/runs/{run_id}", headers=workspace.headers)
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["status"] == "terminated"
    assert run["input"] == {
        "company": "ACME \\ud83d",
        "values": [None, 70],
        "k\\udce9": "caf\\udce9",
    }
    assert list(run["steps"]) == ["clean\\ud800"]

    events = await client.get(f"/v1/runs/{run_id}/events", headers=workspace.headers)
    assert events.status_code == 200, events.text
    parsed = parse_events(events.text)
    assert [event for event, _ in parsed] == ["progress", "end"]
    assert list(parsed[0][1]["steps"]) == ["clean\\ud800"]
    assert parsed[-1][1]["status"] == "terminated"

    listed: list[dict[str, Any]] = []
    for _ in range(100):  # the visibility store is eventually consistent
        page = await client.get("/v1/runs?flow_id=flw_old", headers=workspace.headers)
        assert page.status_code == 200, page.text
        listed = page.json()["items"]
        if listed:
            break
        await asyncio.sleep(0.1)
    assert [item["run_id"] for item in listed] == [run_id]


async def test_a_failed_runs_events_end_with_its_progress_and_end(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    api_services: Services,
    api_worker: str,
) -> None:
    insert_step(api_services, workspace.workspace_id, SLOW_FAILURE)
    flow = insert_flow(api_services, workspace.workspace_id, FAILING_FLOW)
    run_id = (await start(client, workspace, flow.id, {"p": 0}))["run_id"]
    assert (await finished(client, workspace, run_id))["status"] == "failed"
    answer = await client.get(f"/v1/runs/{run_id}/events", headers=workspace.headers)
    assert answer.status_code == 200
    events = parse_events(answer.text)
    kinds = [event for event, _ in events]
    assert kinds[0] == "progress" and kinds[-1] == "end" and kinds.count("end") == 1, kinds
    work = events[0][1]["steps"]["work"]
    assert work["status"] == "failed" and work["error"]["type"] == "StepError"
    assert work["started_at"] and work["finished_at"]
    assert events[-1][1]["status"] == "failed"
    assert events[-1][1]["error"]["type"] == "FlowFailed" or events[-1][1]["error"]["message"]
    assert any(event == "log" and "working" in data["text"] for event, data in events)


async def test_a_run_followed_live_that_fails_ends_with_end(
    client: httpx.AsyncClient,
    live_url: str,
    workspace: WorkspaceKey,
    api_services: Services,
    api_worker: str,
) -> None:
    insert_step(api_services, workspace.workspace_id, SLOW_FAILURE)
    flow = insert_flow(api_services, workspace.workspace_id, FAILING_FLOW)
    run_id = (await start(client, workspace, flow.id, {"p": 3}))["run_id"]
    async with (
        httpx.AsyncClient(base_url=live_url, timeout=120) as http,
        http.stream("GET", f"/v1/runs/{run_id}/events", headers=workspace.headers) as stream,
    ):
        assert stream.status_code == 200
        text = "".join([chunk async for chunk in stream.aiter_text()])
    events = parse_events(text)
    kinds = [event for event, _ in events]
    assert kinds[-1] == "end" and kinds.count("end") == 1 and "error" not in kinds, kinds
    assert events[-1][1]["status"] == "failed"
    progress = [data for event, data in events if event == "progress"]
    assert progress[0]["status"] == "running"
    assert progress[-1]["steps"]["work"]["status"] == "failed"


async def test_a_rerun_of_a_stored_input_json_cannot_carry_is_refused(
    client: httpx.AsyncClient, workspace: WorkspaceKey, api_services: Services
) -> None:
    flow = insert_flow(api_services, workspace.workspace_id, {"name": "old", "steps": []})
    run_id = await _stored_run(api_services, workspace, flow.id)
    answer = await client.post(f"/v1/runs/{run_id}/rerun", headers=workspace.headers)
    error = assert_error(answer, 422, "invalid")
    pointers = [d["pointer"] for d in error["details"]]
    assert set(pointers) == {"/input/company", "/input/k\\udce9", "/input/values/0"}, error


async def test_stored_flows_and_steps_with_text_json_cannot_carry_still_read(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    api_services: Services,
    example_bundles: list[Bundle],
) -> None:
    """Rows saved before the edges were strict (a flow's definition, a step's manifest)."""
    slugify = next(b for b in example_bundles if b.manifest.name == "text.slugify")
    manifest = slugify.manifest.model_dump(mode="json")
    manifest["description"] = "slug \ud83d"
    with session_scope(api_services.engine) as session:
        session.add(
            StepVersion(
                workspace_id=workspace.workspace_id,
                name="text.old",
                version="1.0.0",
                digest="sha256:" + "0" * 64,
                size=1,
                manifest={**manifest, "name": "text.old"},
            )
        )
    definition = {**SLUG_FLOW_OLD, "description": "caf\udce9", "vars": {"k\ud800": [1.5]}}
    flow = insert_flow(api_services, workspace.workspace_id, definition)
    auth = workspace.headers
    for path in [
        f"/v1/flows/{flow.id}",
        "/v1/flows",
        f"/v1/flows/{flow.id}/versions",
        f"/v1/flows/{flow.id}/versions/1",
        "/v1/steps",
        "/v1/steps/text.old/versions",
        "/v1/steps/text.old/versions/1.0.0",
    ]:
        answer = await client.get(path, headers=auth)
        assert answer.status_code == 200, (path, answer.text)
    shown = (await client.get(f"/v1/flows/{flow.id}", headers=auth)).json()
    assert shown["description"] == "caf\\udce9"
    assert shown["definition"]["vars"] == {"k\\ud800": [1.5]}
    step = (await client.get("/v1/steps/text.old/versions/1.0.0", headers=auth)).json()
    assert step["manifest"]["description"] == "slug \\ud83d"
