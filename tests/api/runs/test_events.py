"""A run's events: live log lines while it runs, all at once after it ends; steps from history."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.helpers import WorkspaceKey, finished, insert_flow
from tests.api.runs.helpers import chatty_flow, parse_events, start
from ui_api.runs.events import new_text
from ui_api.runs.history import ExecutionFacts, HistoryFacts
from ui_api.runs.reader import step_states
from ui_api.services import Services


async def test_live_log_lines_arrive_before_the_run_ends_and_the_stream_closes(
    client: httpx.AsyncClient,
    live_url: str,
    workspace: WorkspaceKey,
    api_services: Services,
    chatty: None,
    api_worker: str,
) -> None:
    flow = insert_flow(api_services, workspace.workspace_id, chatty_flow(10))
    run_id = (await start(client, workspace, flow.id, {}))["run_id"]
    received: list[tuple[float, str, Any]] = []
    async with (
        httpx.AsyncClient(base_url=live_url, timeout=120) as http,
        http.stream("GET", f"/v1/runs/{run_id}/events", headers=workspace.headers) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        buffer = ""
        async for text in stream.aiter_text():
            buffer += text
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                for event, data in parse_events(block + "\n\n"):
                    received.append((time.monotonic(), event, data))
    # the stream closed by itself, after "end"
    kinds = [event for _, event, _ in received]
    assert kinds[-1] == "end" and kinds.count("end") == 1
    assert received[-1][2]["status"] == "succeeded"
    logs = [(at, data) for at, event, data in received if event == "log"]
    first_at = next(at for at, data in logs if "first line" in data["text"])
    assert received[-1][0] - first_at > 3, "the first line came only at the end"
    live = next(data for _, data in logs if "first line" in data["text"])
    assert live == {"step_id": "talk", "execution": "talk", "text": live["text"], "replace": False}
    whole = "".join(data["text"] for _, data in logs if not data["replace"])
    assert whole.count("first line") == 1 and whole.count("second line") == 1
    progress = [data for _, event, data in received if event == "progress"]
    assert progress[0]["status"] == "running"
    assert progress[-1]["steps"]["talk"]["status"] == "succeeded"


async def test_events_of_an_ended_run_come_at_once(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: str, api_worker: str
) -> None:
    run_id = (await start(client, workspace, slug_flow, {"t": "A B"}))["run_id"]
    await finished(client, workspace, run_id)
    answer = await client.get(f"/v1/runs/{run_id}/events", headers=workspace.headers)
    assert answer.status_code == 200
    events = parse_events(answer.text)
    kinds = [event for event, _ in events]
    assert kinds[0] == "progress" and kinds[-1] == "end" and kinds.count("end") == 1
    assert events[-1][1] == {"status": "succeeded", "output": {"slug": "a-b"}, "error": None}
    assert events[0][1]["steps"]["clean"]["status"] == "succeeded"


async def test_a_stream_stops_polling_when_the_client_goes(
    client: httpx.AsyncClient,
    live_url: str,
    workspace: WorkspaceKey,
    api_services: Services,
    chatty: None,
    api_worker: str,
) -> None:
    flow = insert_flow(api_services, workspace.workspace_id, chatty_flow(60))
    run_id = (await start(client, workspace, flow.id, {}))["run_id"]
    gauge = api_services.metrics.event_streams
    before = gauge._value.get()
    async with (
        httpx.AsyncClient(base_url=live_url, timeout=30) as http,
        http.stream("GET", f"/v1/runs/{run_id}/events", headers=workspace.headers) as stream,
    ):
        async for text in stream.aiter_text():
            if "event: progress" in text:
                break
        assert gauge._value.get() == before + 1
    for _ in range(100):
        if gauge._value.get() == before:
            break
        await asyncio.sleep(0.1)
    assert gauge._value.get() == before, "the stream kept polling after the client left"
    await client.post(f"/v1/runs/{run_id}/cancel", headers=workspace.headers)
    await finished(client, workspace, run_id, timeout_s=30)


def test_steps_are_rebuilt_from_history_when_no_worker_answers() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def execution(activity_id: str, execution_id: str, outcome: str, **facts: Any) -> Any:
        done = at + timedelta(seconds=1) if outcome != "running" else None
        return ExecutionFacts(
            activity_id, execution_id, at, started_at=at, finished_at=done, attempt=1,
            outcome=outcome, **facts,
        )  # fmt: skip

    steps = [{"id": step_id} for step_id in ("a", "each", "bad", "busy", "later")]
    facts = HistoryFacts(run_input={"definition": {"steps": steps}})
    for row in [
        execution("1", "a", "succeeded", result={"output": 1, "logs": "hi", "duration_ms": 5}),
        execution("2", "each[1]", "succeeded", result={"output": "y"}),
        execution("3", "each[0]", "succeeded", result={"output": "x"}),
        execution("4", "bad", "failed", error={"type": "StepError", "message": "no", "logs": "!"}),
        execution("5", "busy", "running"),
    ]:
        facts.executions[row.activity_id] = row
    states = step_states(facts, None)
    assert list(states) == ["a", "each", "bad", "busy", "later"]
    assert states["a"]["status"] == "succeeded" and states["a"]["output"] == 1
    assert states["a"]["logs"] == "hi" and states["a"]["duration_ms"] == 5
    assert states["each"]["output"] == ["x", "y"] and states["each"]["items"] == 2
    assert states["bad"]["status"] == "failed" and states["bad"]["error"]["message"] == "no"
    assert states["bad"]["logs"] == "!"
    assert states["busy"]["status"] == "running" and states["busy"]["finished_at"] is None
    assert states["later"] == {"status": "pending"}
    # a worker's answer, when there is one, wins over the history
    answered = step_states(facts, {"steps": {"later": {"status": "skipped"}}})
    assert answered["later"] == {"status": "skipped"}
    assert answered["a"] == {"attempts": 1}  # attempts come from the history


def test_new_text_is_what_a_rolling_tail_gained() -> None:
    assert new_text("", "abc") == "abc"
    assert new_text("abc", "abcdef") == "def"
    assert new_text("abcdef", "defghi") == "ghi"  # the window rolled past "abc"
    assert new_text("abc", "abc") == ""
    assert new_text("abc", "xyz") == "xyz"
