"""`stepwell run show` names the worker that ran each step execution: its owner id, the
identity Temporal records when the worker starts the activity (docs/scaling.md)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from activities.bundles import LocalBundleStore
from sandbox.launcher import Sandbox
from stepwell.cli.main import app
from stepwell.leases import new_owner_id
from stepwell.local_steps import LocalSteps
from stepwell_settings import Settings
from tests.flows.conftest import inline_step, worker_queue
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]

ECHO = inline_step(
    "test.echo",
    """
    from step_sdk import step

    @step
    def main(n: int) -> dict:
        return {"n": n}
    """,
)


async def test_run_show_names_the_worker_of_each_step(
    temporal: WorkflowEnvironment,
    sandbox: Sandbox,
    bundle_store: LocalBundleStore,
    worker_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner = new_owner_id()
    definition: dict[str, Any] = {
        "name": "echo",
        "steps": [
            {"id": "one", "uses": "test.echo@1.0.0", "with": {"n": 1}},
            {"id": "two", "uses": "test.echo@1.0.0", "with": {"n": "{{ steps.one.output.n }}"}},
        ],
    }
    parsed = FlowDefinition.model_validate(definition)
    request = FlowRunInput(
        definition=parsed.document(), steps=LocalSteps([ECHO], bundle_store).resolve(parsed)
    )
    async with worker_queue(
        temporal, sandbox, bundle_store, worker_settings, identity=owner
    ) as queue:
        handle = await temporal.client.start_workflow(
            FLOW_RUN, request, id=f"run-{uuid.uuid4().hex[:12]}", task_queue=queue,
            result_type=FlowRunOutput,
        )  # fmt: skip
        await asyncio.wait_for(handle.result(), 120)
    monkeypatch.setenv(
        "STEPWELL_TEMPORAL_ADDRESS", temporal.client.service_client.config.target_host
    )
    monkeypatch.setenv("COLUMNS", "400")
    runner = CliRunner()
    as_json = await asyncio.to_thread(runner.invoke, app, ["run", "show", handle.id, "--json"])
    assert as_json.exit_code == 0, as_json.output
    steps = json.loads(as_json.output)["steps"]
    assert [(s["step_id"], s["worker"]) for s in steps] == [("one", owner), ("two", owner)]
    text = await asyncio.to_thread(runner.invoke, app, ["run", "show", handle.id])
    assert text.exit_code == 0, text.output
    header = next(line for line in text.output.splitlines() if "outcome" in line)
    assert "worker" in header
    assert text.output.count(owner) == 2
