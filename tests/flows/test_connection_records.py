"""Connection records travel from a step execution to the run record: every attempt (Temporal's
own retries included), every foreach item, failures included, never in the run's result.

Until the egress proxy is wired into the sandbox, :class:`RecordingSandbox` stands in for it: the
step really runs in the real sandbox, and each execution gets the records the proxy would have
returned (one per attempt, naming the attempt and the input). Real Temporal, real worker, the
API's reader and the CLI's reader.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import docker
import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from activities.bundles import LocalBundleStore
from activities.connections import MAX_TEXT_CHARS
from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope
from sandbox.launcher import Sandbox
from sandbox.result import StepResult
from step_sdk.bundle import Bundle
from step_sdk.manifest import Limits
from stepwell.cli.main import app
from stepwell.local_steps import LocalSteps
from stepwell.runs import read_run as read_cli_run
from stepwell_settings import Settings
from tests.flows.conftest import inline_step, worker_queue
from ui_api.runs.reader import VisibleRun, history_facts, read_run, step_states
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, PROGRESS_QUERY, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]


def record(host: str, **fields: Any) -> dict[str, Any]:
    return {
        "host": host, "port": 443, "address": "203.0.113.7", "method": "CONNECT",
        "allowed": True, "reason": "", "bytes_out": 517, "bytes_in": 4096,
        "started_at": "2026-11-30T12:00:00+00:00", "duration_ms": 12, **fields,
    }  # fmt: skip


class RecordingSandbox(Sandbox):
    """The real sandbox, plus the records an egress proxy would have made for the execution."""

    def run(self, bundle: Bundle, envelope: Envelope, *args: Any, **kwargs: Any) -> StepResult:
        result = super().run(bundle, envelope, *args, **kwargs)
        attempt = envelope.context.attempt
        tag = json.dumps(envelope.input, sort_keys=True)
        if "size_kb" in envelope.input:  # records that are as large as records can be
            wide = "\x01" * 400  # six bytes each in JSON: \u0001
            many = [record(wide, method=wide, reason=wide, started_at=wide)] * 250
            return dataclasses.replace(result, connections=many)
        return dataclasses.replace(result, connections=[
            record(f"a{attempt}.example.com", reason=tag),
            record("169.254.169.254", port=80, address=None, method="GET", allowed=False,
                   reason="169.254.169.254 is not a public address", bytes_in=0),
        ])  # fmt: skip


@pytest_asyncio.fixture
async def recording_queue(
    temporal: WorkflowEnvironment,
    docker_client: docker.DockerClient,
    sandbox_config: SandboxConfig,
    base_image: str,
    bundle_store: LocalBundleStore,
    worker_settings: Settings,
) -> AsyncIterator[str]:
    sandbox = RecordingSandbox(docker_client, sandbox_config)
    async with worker_queue(temporal, sandbox, bundle_store, worker_settings) as queue:
        yield queue


FLAKY = inline_step(
    "test.netflaky",
    """
    from step_sdk import StepContext, step

    @step(name="test.netflaky", version="1.0.0")
    def main(ctx: StepContext, fail_until: int) -> int:
        if ctx.attempt < fail_until:
            raise RuntimeError(f"attempt {ctx.attempt} failed")
        return ctx.attempt
    """,
    retry={"max_attempts": 3, "initial_interval_s": 0.2, "backoff": 1.0},
    limits=Limits(timeout_s=30).model_dump(),
)

BIG = inline_step(
    "test.netbig",
    """
    from step_sdk import step

    @step(name="test.netbig", version="1.0.0", output_kb=1536)
    def main(size_kb: int) -> str:
        return "x" * (size_kb * 1024)
    """,
    limits=Limits(timeout_s=30, output_kb=1536).model_dump(),
)

Start = Callable[..., Any]


@pytest.fixture
def start(
    temporal: WorkflowEnvironment, recording_queue: str, bundle_store: LocalBundleStore
) -> Start:
    async def start_run(definition: dict[str, Any]) -> WorkflowHandle[Any, FlowRunOutput]:
        parsed = FlowDefinition.model_validate(definition)
        request = FlowRunInput(
            definition=parsed.document(),
            steps=LocalSteps([FLAKY, BIG], bundle_store).resolve(parsed),
            heartbeat_timeout_s=5,
        )
        return await temporal.client.start_workflow(
            FLOW_RUN, request, id=f"run-{uuid.uuid4().hex[:12]}", task_queue=recording_queue,
            result_type=FlowRunOutput,
        )  # fmt: skip

    return start_run


def hosts(records: list[dict[str, Any]]) -> list[tuple[str, int, int | None]]:
    return [(r["host"], r["attempt"], r.get("item")) for r in records]


async def test_every_attempt_and_item_is_recorded_and_read_back(
    start: Start, temporal: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = {
        "name": "net",
        "steps": [
            {"id": "retried", "uses": "test.netflaky@1.0.0", "with": {"fail_until": 3}},
            {"id": "each", "uses": "test.netflaky@1.0.0", "foreach": "{{ `[1, 1]` }}",
             "with": {"fail_until": "{{ item }}"}},
        ],
    }  # fmt: skip
    handle = await start(definition)
    result = await asyncio.wait_for(handle.result(), 180)
    # the run's result carries no records: they are in the history once, with each activity
    assert all(not state.connections for state in result.steps.values())

    expected_retried = [
        ("a1.example.com", 1, None), ("169.254.169.254", 1, None),
        ("a2.example.com", 2, None), ("169.254.169.254", 2, None),
        ("a3.example.com", 3, None), ("169.254.169.254", 3, None),
    ]  # fmt: skip
    expected_each = [
        ("a1.example.com", 1, 0), ("169.254.169.254", 1, 0),
        ("a1.example.com", 1, 1), ("169.254.169.254", 1, 1),
    ]  # fmt: skip
    # the workflow's own state (the progress query), accumulated over attempts and items
    progress = await handle.query(PROGRESS_QUERY)
    assert hosts(progress["steps"]["retried"]["connections"]) == expected_retried
    assert sorted(hosts(progress["steps"]["each"]["connections"])) == sorted(expected_each)

    run = VisibleRun(handle.id, "default", handle, await handle.describe())
    detail = await read_run(Settings(), run)  # the result path
    retried = [c.model_dump() for c in detail.steps["retried"].connections]
    assert hosts(retried) == expected_retried
    assert retried[0]["reason"] == '{"fail_until": 3}'
    refused = retried[1]
    assert refused["allowed"] is False and refused["address"] is None
    assert refused["reason"] == "169.254.169.254 is not a public address"
    assert refused["port"] == 80 and refused["method"] == "GET"
    assert hosts([c.model_dump() for c in detail.steps["each"].connections]) == expected_each
    rebuilt = step_states(await history_facts(run), None)  # the history alone
    assert hosts(rebuilt["retried"]["connections"]) == expected_retried
    assert hosts(rebuilt["each"]["connections"]) == expected_each

    view = await read_cli_run(temporal.client, handle.id)  # what `stepwell run show` reads
    shown = [(e.step_id, hosts(e.connections)) for e in view.executions]
    assert shown[0] == ("retried", expected_retried)
    assert sorted(shown[1:]) == [("each[0]", expected_each[:2]), ("each[1]", expected_each[2:])]

    target = temporal.client.service_client.config.target_host
    monkeypatch.setenv("STEPWELL_TEMPORAL_ADDRESS", target)
    runner = CliRunner()
    as_json = await asyncio.to_thread(runner.invoke, app, ["run", "show", handle.id, "--json"])
    assert as_json.exit_code == 0, as_json.output
    steps = json.loads(as_json.output)["steps"]
    assert hosts(steps[0]["connections"]) == expected_retried
    text = await asyncio.to_thread(runner.invoke, app, ["run", "show", handle.id])
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    heading = lines.index("connections:")
    assert lines[heading + 1 : heading + 3] == [
        '  retried attempt 1: a1.example.com:443 (203.0.113.7) allowed, then {"fail_until": 3}, '
        "517 B out, 4096 B in",
        "  retried attempt 1: 169.254.169.254:80 (no address) refused: 169.254.169.254 is not a "
        "public address, 517 B out, 0 B in",
    ]
    assert "  each[1] attempt 1: a1.example.com:443 (203.0.113.7)" in text.output


async def test_a_failed_step_keeps_the_records_of_every_attempt(
    start: Start, temporal: WorkflowEnvironment
) -> None:
    definition = {
        "name": "net-fail",
        "steps": [{"id": "broken", "uses": "test.netflaky@1.0.0", "with": {"fail_until": 9}}],
    }
    handle = await start(definition)
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), 180)
    run = VisibleRun(handle.id, "default", handle, await handle.describe())
    detail = await read_run(Settings(), run)
    broken = detail.steps["broken"]
    assert broken.status == "failed" and broken.attempts == 3
    assert [c.host for c in broken.connections][::2] == [
        "a1.example.com", "a2.example.com", "a3.example.com"
    ]  # fmt: skip
    assert broken.error is not None and "connections" not in broken.error.model_dump()
    rebuilt = step_states(await history_facts(run), None)
    assert [c["attempt"] for c in rebuilt["broken"]["connections"]] == [1, 1, 2, 2, 3, 3]
    view = await read_cli_run(temporal.client, handle.id)
    assert [r["attempt"] for r in view.executions[0].connections] == [1, 1, 2, 2, 3, 3]


async def test_records_give_way_before_a_reply_goes_over_the_payload_limit(start: Start) -> None:
    # 1000 KiB of output and 250 records of ~7 KiB each in JSON (hostile text): more than
    # Temporal takes in one payload, so the records are cut to what fits in their share and a
    # count of the rest; the step still succeeds.
    definition = {
        "name": "net-big",
        "steps": [{"id": "big", "uses": "test.netbig@1.0.0", "with": {"size_kb": 1000}}],
    }
    handle = await start(definition)
    result = await asyncio.wait_for(handle.result(), 180)
    assert result.status == "succeeded"
    run = VisibleRun(handle.id, "default", handle, await handle.describe())
    [execution] = (await history_facts(run)).executions.values()
    records = execution.connections
    assert 10 < len(records) < 100
    assert all(len(r["host"]) == MAX_TEXT_CHARS for r in records[:-1])
    assert records[-1]["host"] == "*"
    assert records[-1]["reason"] == f"{250 - len(records) + 1} more connections not recorded"
    assert (execution.result or {}).get("output") == "x" * 1000 * 1024


NAPPY = inline_step(
    "test.netnappy",
    """
    import time
    from step_sdk import StepContext, step

    @step(name="test.netnappy", version="1.0.0")
    def main(ctx: StepContext, nap: float) -> int:
        if ctx.attempt == 1:
            raise RuntimeError("first attempt fails")
        print("napping", flush=True)
        time.sleep(nap)
        return ctx.attempt
    """,
    retry={"max_attempts": 2, "initial_interval_s": 0.2},
    limits=Limits(timeout_s=60).model_dump(),
)


async def test_a_running_attempt_keeps_the_earlier_records_in_its_heartbeats(
    temporal: WorkflowEnvironment, recording_queue: str, bundle_store: LocalBundleStore
) -> None:
    # If the worker running attempt 2 died now, attempt 3 would get these heartbeat details.
    definition = FlowDefinition.model_validate(
        {"name": "nap", "steps": [{"id": "nap", "uses": "test.netnappy@1.0.0", "with": {"nap": 8}}]}
    )
    request = FlowRunInput(
        definition=definition.document(),
        steps=LocalSteps([NAPPY], bundle_store).resolve(definition),
        heartbeat_timeout_s=5,
    )
    handle = await temporal.client.start_workflow(
        FLOW_RUN, request, id=f"run-{uuid.uuid4().hex[:12]}", task_queue=recording_queue,
        result_type=FlowRunOutput,
    )  # fmt: skip
    converter = temporal.client.data_converter.payload_converter
    details: dict[str, Any] = {}
    while "napping" not in str(details.get("log_tail")):
        assert not (await handle.describe()).close_time, "the run ended before attempt 2 napped"
        pending = (await handle.describe()).raw_description.pending_activities
        if pending and pending[0].attempt == 2 and pending[0].heartbeat_details.payloads:
            details = converter.from_payload(pending[0].heartbeat_details.payloads[0])
        await asyncio.sleep(0.2)
    assert hosts(details["connections"]) == [
        ("a1.example.com", 1, None), ("169.254.169.254", 1, None)
    ]  # fmt: skip
    assert (await asyncio.wait_for(handle.result(), 120)).status == "succeeded"
