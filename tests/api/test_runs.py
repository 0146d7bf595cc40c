"""/v1/runs with a real worker: start (idempotent), read back, list, stream live, cancel, re-run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI

from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Manifest
from tests.api.conftest import WorkspaceKey, assert_error, finished, insert_flow, insert_step
from ui_api.runs.events import new_text
from ui_api.runs.history import ExecutionFacts, HistoryFacts
from ui_api.runs.listing import quoted, visibility_query
from ui_api.runs.reader import step_states
from ui_api.runs.schemas import RunStatus
from ui_api.services import Services

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


@pytest.fixture
def slug_flow(
    api_services: Services, workspace: WorkspaceKey, example_bundles: list[Bundle]
) -> str:
    slugify = next(b for b in example_bundles if b.manifest.name == "text.slugify")
    insert_step(api_services, workspace.workspace_id, slugify)
    return insert_flow(api_services, workspace.workspace_id, SLUG_FLOW).id


@pytest.fixture
def chatty(api_services: Services, workspace: WorkspaceKey) -> None:
    insert_step(api_services, workspace.workspace_id, CHATTY)


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


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest_asyncio.fixture
async def live_url(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real HTTP server (the in-process transport buffers whole responses)."""
    server = _QuietServer(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


# --- starting and reading ------------------------------------------------------------------------


async def test_a_manual_run_finishes_and_reads_back_step_by_step(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: str, api_worker: str
) -> None:
    started = await start(client, workspace, slug_flow, {"t": "Hello World"})
    run_id = started["run_id"]
    assert started["status"] == "running"
    assert started["links"]["self"] == f"/v1/runs/{run_id}"
    assert started["links"]["events"] == f"/v1/runs/{run_id}/events"
    assert started["links"]["temporal_ui"] == (
        f"http://localhost:8233/namespaces/default/workflows/{run_id}"
    )

    run = await finished(client, workspace, run_id)
    assert run["status"] == "succeeded", run
    assert run["output"] == {"slug": "hello-world"} and run["error"] is None
    assert run["input"] == {"t": "Hello World"}
    assert (run["flow_id"], run["flow_version"], run["trigger"]) == (slug_flow, 1, "manual")
    assert run["started_at"] <= run["closed_at"]
    step = run["steps"]["clean"]
    assert step["status"] == "succeeded" and step["attempts"] == 1
    assert step["output"] == {"slug": "hello-world"} and step["error"] is None
    assert step["duration_ms"] > 0 and step["started_at"] <= step["finished_at"]


async def test_an_idempotency_key_starts_one_run(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    slug_flow: str,
    api_services: Services,
    example_bundles: list[Bundle],
) -> None:
    key = {"Idempotency-Key": "order-42"}
    body = {"flow_id": slug_flow, "input": {"t": "x"}}
    first = await client.post("/v1/runs", json=body, headers={**workspace.headers, **key})
    again = await client.post("/v1/runs", json=body, headers={**workspace.headers, **key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["run_id"] == again.json()["run_id"]
    fresh = await client.post(
        "/v1/runs", json=body, headers={**workspace.headers, "Idempotency-Key": "order-43"}
    )
    assert fresh.status_code == 201 and fresh.json()["run_id"] != first.json()["run_id"]

    # the same key for another flow is a mistake, not a replay
    other_flow = insert_flow(api_services, workspace.workspace_id, SLUG_FLOW).id
    reused = await client.post(
        "/v1/runs", json={"flow_id": other_flow}, headers={**workspace.headers, **key}
    )
    assert "Idempotency-Key" in assert_error(reused, 409, "conflict")["message"]
    # another workspace's identical key is its own
    slugify = next(b for b in example_bundles if b.manifest.name == "text.slugify")
    insert_step(api_services, other_workspace.workspace_id, slugify)
    theirs = insert_flow(api_services, other_workspace.workspace_id, SLUG_FLOW).id
    foreign = await client.post(
        "/v1/runs", json={"flow_id": theirs}, headers={**other_workspace.headers, **key}
    )
    assert foreign.status_code == 201 and foreign.json()["run_id"] != first.json()["run_id"]


async def test_starting_refuses_what_cannot_run(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    slug_flow: str,
    api_services: Services,
) -> None:
    headers = workspace.headers

    async def post(body: Any, **extra: str) -> httpx.Response:
        return await client.post("/v1/runs", json=body, headers={**headers, **extra})

    assert_error(await post({"flow_id": "flw_nothing"}), 404, "not_found")
    foreign = await client.post(
        "/v1/runs", json={"flow_id": slug_flow}, headers=other_workspace.headers
    )
    assert_error(foreign, 404, "not_found")
    assert (
        "version 7"
        in assert_error(await post({"flow_id": slug_flow, "version": 7}), 404)["message"]
    )
    unpushed = insert_flow(api_services, workspace.workspace_id, chatty_flow(0)).id
    assert "not pushed" in assert_error(await post({"flow_id": unpushed}), 409)["message"]
    big = {"flow_id": slug_flow, "input": {"t": "x" * 600_000}}
    assert_error(await post(big), 413, "payload_too_large")
    for body, pointer in [
        ({}, "/flow_id"),
        ({"flow_id": slug_flow, "version": 0}, "/version"),
        ({"flow_id": slug_flow, "version": "latest"}, "/version"),
        ({"flow_id": "f" * 41}, "/flow_id"),
        ([1], ""),
    ]:
        error = assert_error(await post(body), 422, "invalid")
        assert error["details"][0]["pointer"] == pointer, error
    long_key = await post({"flow_id": slug_flow}, **{"Idempotency-Key": "k" * 201})
    assert assert_error(long_key, 422)["details"][0]["pointer"].startswith("/header")

    disabled = await client.post(f"/v1/flows/{slug_flow}/disable", headers=headers)
    assert disabled.status_code == 200
    assert "disabled" in assert_error(await post({"flow_id": slug_flow}), 409)["message"]


async def test_a_failed_step_shows_its_error_traceback_logs_and_attempts(
    client: httpx.AsyncClient, workspace: WorkspaceKey, api_services: Services, api_worker: str
) -> None:
    insert_step(api_services, workspace.workspace_id, FAILING)
    flow = insert_flow(
        api_services,
        workspace.workspace_id,
        {"name": "fails", "steps": [{"id": "boom", "uses": "test.failing@1.0.0"}]},
    )
    run = await finished(client, workspace, (await start(client, workspace, flow.id))["run_id"])
    assert run["status"] == "failed" and run["output"] is None
    assert run["error"]["type"] == "FlowFailed" and run["error"]["step_id"] == "boom"
    step = run["steps"]["boom"]
    assert step["status"] == "failed" and step["attempts"] == 2
    assert step["error"]["type"] == "StepError" and "no luck" in step["error"]["message"]
    assert "ValueError" in step["error"]["traceback"]
    assert "about to fail" in step["logs"]


# --- listing -------------------------------------------------------------------------------------


async def test_runs_are_listed_by_flow_and_status_a_page_at_a_time(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    slug_flow: str,
    api_services: Services,
    api_worker: str,
) -> None:
    other_flow = insert_flow(api_services, workspace.workspace_id, SLUG_FLOW).id
    ours = [(await start(client, workspace, slug_flow, {"t": str(i)}))["run_id"] for i in range(3)]
    theirs = (await start(client, workspace, other_flow, {"t": "b"}))["run_id"]
    for run_id in [*ours, theirs]:
        await finished(client, workspace, run_id)

    async def listed(**params: Any) -> dict[str, Any]:
        answer = await client.get("/v1/runs", params=params, headers=workspace.headers)
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        return page

    for _ in range(100):  # visibility is eventually consistent
        page = await listed(flow_id=slug_flow, status="succeeded")
        if len(page["items"]) == 3:
            break
        await asyncio.sleep(0.1)
    assert {r["run_id"] for r in page["items"]} == set(ours)
    assert all(r["flow_id"] == slug_flow and r["trigger"] == "manual" for r in page["items"])
    assert all(r["status"] == "succeeded" and r["flow_version"] == 1 for r in page["items"])
    assert (await listed(flow_id=slug_flow, status="failed"))["items"] == []

    everything = await listed()
    assert {r["run_id"] for r in everything["items"]} == {*ours, theirs}
    first = await listed(limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = await listed(limit=2, cursor=first["next_cursor"])
    seen = [r["run_id"] for r in first["items"] + rest["items"]]
    assert sorted(seen) == sorted([*ours, theirs]) and rest["next_cursor"] is None

    foreign = await client.get("/v1/runs", headers=other_workspace.headers)
    assert foreign.json()["items"] == []
    # a cursor belongs to its listing: not to another filter, not to another workspace
    for params, headers in [
        ({"limit": 2, "cursor": first["next_cursor"], "status": "running"}, workspace.headers),
        ({"limit": 2, "cursor": first["next_cursor"]}, other_workspace.headers),
    ]:
        reused = await client.get("/v1/runs", params=params, headers=headers)
        assert assert_error(reused, 422)["details"][0]["pointer"] == "/query/cursor"
    spoof = await client.get(
        "/v1/runs", params={"flow_id": slug_flow}, headers=other_workspace.headers
    )
    assert spoof.json()["items"] == []


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("flow_id=x' OR StepwellWorkspace != 'y", "/query/flow_id"),
        ('flow_id=a"b', "/query/flow_id"),
        ("status=done", "/query/status"),
        ("limit=0", "/query/limit"),
        ("limit=201", "/query/limit"),
        ("cursor=%25%25", "/query/cursor"),
        ("cursor=bm90LWEtdG9rZW4", "/query/cursor"),  # base64 of garbage
    ],
)
async def test_bad_list_parameters_are_422_not_a_query(
    client: httpx.AsyncClient, workspace: WorkspaceKey, query: str, pointer: str
) -> None:
    error = assert_error(await client.get(f"/v1/runs?{query}", headers=workspace.headers), 422)
    assert error["details"][0]["pointer"] == pointer, error


def test_visibility_queries_quote_only_safe_ids() -> None:
    query = visibility_query("ws_1", "flw_2", RunStatus.timed_out)
    assert query == (
        "WorkflowType = 'FlowRun' AND StepwellWorkspace = 'ws_1' AND StepwellFlow = 'flw_2' "
        "AND ExecutionStatus = 'TimedOut'"
    )
    for hostile in ("a'b", "a b", "", "x" * 101, "a\\b", "ä"):
        with pytest.raises(ValueError, match="not an id"):
            quoted(hostile)


# --- cancel and re-run ---------------------------------------------------------------------------


async def test_a_running_run_is_cancelled_once(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    api_services: Services,
    chatty: None,
    api_worker: str,
) -> None:
    flow = insert_flow(api_services, workspace.workspace_id, chatty_flow(60))
    run_id = (await start(client, workspace, flow.id, {}))["run_id"]
    await step_running(client, workspace, run_id, "talk")
    assert_error(
        await client.post(f"/v1/runs/{run_id}/cancel", headers=other_workspace.headers), 404
    )
    answer = await client.post(f"/v1/runs/{run_id}/cancel", headers=workspace.headers)
    assert answer.status_code == 202 and answer.json()["run_id"] == run_id
    run = await finished(client, workspace, run_id, timeout_s=30)
    assert run["status"] == "cancelled" and run["error"]["type"] == "Cancelled"
    again = await client.post(f"/v1/runs/{run_id}/cancel", headers=workspace.headers)
    assert "cancelled" in assert_error(again, 409, "conflict")["message"]


async def test_a_rerun_repeats_the_same_version_with_the_same_input(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    slug_flow: str,
    api_worker: str,
) -> None:
    original = (await start(client, workspace, slug_flow, {"t": "Same Input"}))["run_id"]
    await finished(client, workspace, original)
    changed = {**SLUG_FLOW, "output": {"again": "{{ steps.clean.output.slug }}"}}
    saved = await client.put(
        f"/v1/flows/{slug_flow}", json={"definition": changed}, headers=workspace.headers
    )
    assert saved.status_code == 200 and saved.json()["latest_version"] == 2

    assert_error(
        await client.post(f"/v1/runs/{original}/rerun", headers=other_workspace.headers), 404
    )
    key = {"Idempotency-Key": "rerun-1"}
    answer = await client.post(f"/v1/runs/{original}/rerun", headers={**workspace.headers, **key})
    assert answer.status_code == 201, answer.text
    repeat = await client.post(f"/v1/runs/{original}/rerun", headers={**workspace.headers, **key})
    assert repeat.status_code == 200 and repeat.json()["run_id"] == answer.json()["run_id"]
    rerun = await finished(client, workspace, answer.json()["run_id"])
    assert rerun["run_id"] != original and rerun["trigger"] == "rerun"
    assert rerun["flow_version"] == 1 and rerun["input"] == {"t": "Same Input"}
    assert rerun["output"] == {"slug": "same-input"}

    await client.post(f"/v1/flows/{slug_flow}/disable", headers=workspace.headers)
    disabled = await client.post(f"/v1/runs/{original}/rerun", headers=workspace.headers)
    assert "disabled" in assert_error(disabled, 409)["message"]
    await client.delete(f"/v1/flows/{slug_flow}", headers=workspace.headers)
    deleted = await client.post(f"/v1/runs/{original}/rerun", headers=workspace.headers)
    assert "deleted" in assert_error(deleted, 409)["message"]
    # the runs stay readable after their flow is gone
    assert (await client.get(f"/v1/runs/{original}", headers=workspace.headers)).status_code == 200


# --- events --------------------------------------------------------------------------------------


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


# --- access --------------------------------------------------------------------------------------


async def test_another_workspace_sees_no_run(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    slug_flow: str,
) -> None:
    run_id = (await start(client, workspace, slug_flow, {"t": "x"}))["run_id"]
    for method, path in [
        ("GET", f"/v1/runs/{run_id}"),
        ("GET", f"/v1/runs/{run_id}/events"),
        ("POST", f"/v1/runs/{run_id}/cancel"),
        ("POST", f"/v1/runs/{run_id}/rerun"),
        ("GET", "/v1/runs/run_does_not_exist"),
        ("GET", "/v1/runs/" + "r" * 300),
    ]:
        answer = await client.request(method, path, headers=other_workspace.headers)
        assert_error(answer, 404, "not_found")
    # unknown and foreign runs answer alike
    unknown = await client.get("/v1/runs/run_does_not_exist", headers=other_workspace.headers)
    foreign = await client.get(f"/v1/runs/{run_id}", headers=other_workspace.headers)
    assert (
        unknown.json()["error"]["message"].replace("run_does_not_exist", run_id)
        == (foreign.json()["error"]["message"])
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/runs"),
        ("GET", "/v1/runs"),
        ("GET", "/v1/runs/run_x"),
        ("GET", "/v1/runs/run_x/events"),
        ("POST", "/v1/runs/run_x/cancel"),
        ("POST", "/v1/runs/run_x/rerun"),
    ],
)
async def test_run_routes_need_a_key(client: httpx.AsyncClient, method: str, path: str) -> None:
    assert_error(await client.request(method, path, json={"flow_id": "x"}), 401, "unauthorized")
    wrong = {"Authorization": "Bearer sw_wrong"}
    assert_error(await client.request(method, path, headers=wrong), 401, "unauthorized")
