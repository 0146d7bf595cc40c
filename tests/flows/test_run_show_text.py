"""`stepwell run show` prints what steps wrote as text: Rich markup in an output or an error
(`[blink]`, `[link=…]`, a `[redacted]` marker) is shown as it is, never interpreted (a step
could otherwise hide text, blink, or plant a terminal hyperlink in the operator's terminal)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from activities.bundles import LocalBundleStore
from stepwell.cli.main import app
from stepwell.local_steps import LocalSteps
from tests.flows.conftest import inline_step
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]

MARKUP = "[blink]OUT[/blink] [redacted] [link=https://evil.example]here[/link] [bold red]x"

SAYS = inline_step(
    "test.says",
    f"""
    from step_sdk import step

    @step
    def main(fail: bool) -> dict:
        if fail:
            raise ValueError({MARKUP!r})
        return {{"t": {MARKUP!r}}}
    """,
)


async def run_flow(
    temporal: WorkflowEnvironment, queue: str, store: LocalBundleStore, fail: bool
) -> str:
    definition: dict[str, Any] = {
        "name": "says",
        "steps": [{"id": "say", "uses": "test.says@1.0.0", "with": {"fail": fail}}],
        "output": {"t": "{{ steps.say.output.t }}"},
    }
    parsed = FlowDefinition.model_validate(definition)
    request = FlowRunInput(
        definition=parsed.document(), steps=LocalSteps([SAYS], store).resolve(parsed)
    )
    handle = await temporal.client.start_workflow(
        FLOW_RUN, request, id=f"run-{uuid.uuid4().hex[:12]}", task_queue=queue,
        result_type=FlowRunOutput,
    )  # fmt: skip
    if fail:
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(handle.result(), 120)
    else:
        await asyncio.wait_for(handle.result(), 120)
    return handle.id


@pytest.mark.parametrize("fail", [False, True], ids=["output", "error"])
async def test_markup_from_a_step_is_printed_as_text(
    temporal: WorkflowEnvironment,
    task_queue: str,
    bundle_store: LocalBundleStore,
    monkeypatch: pytest.MonkeyPatch,
    fail: bool,
) -> None:
    run_id = await run_flow(temporal, task_queue, bundle_store, fail)
    monkeypatch.setenv(
        "STEPWELL_TEMPORAL_ADDRESS", temporal.client.service_client.config.target_host
    )
    monkeypatch.setenv("COLUMNS", "400")
    shown = await asyncio.to_thread(CliRunner().invoke, app, ["run", "show", run_id])
    assert shown.exit_code == 0, shown.output
    if fail:
        assert "[blink]OUT[/blink] [redacted] [link=https://evil.example]here" in shown.output
    else:
        assert MARKUP in shown.output
