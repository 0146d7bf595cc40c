"""``examples/flows/order_report.json`` end to end: one run mixing JavaScript steps (with npm
dependencies, in their own cached layers) and Python steps, on a real worker and Temporal."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.bundles import LocalBundleStore
from step_sdk.bundle import Bundle
from step_sdk.runtimes import NODE, PYTHON
from stepwell.local_steps import LocalSteps
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker, pytest.mark.network]
FLOW = Path(__file__).resolve().parents[2] / "examples" / "flows" / "order_report.json"


async def test_a_flow_mixes_javascript_and_python_steps(
    temporal: WorkflowEnvironment,
    task_queue: str,
    bundle_store: LocalBundleStore,
    example_bundles: list[Bundle],
) -> None:
    definition = FlowDefinition.model_validate(json.loads(FLOW.read_text()))
    steps = LocalSteps(example_bundles, bundle_store)
    resolved = steps.resolve(definition)
    runtimes = {ref: step.manifest["runtime"] for ref, step in resolved.items()}
    assert set(runtimes.values()) == {NODE, PYTHON}, runtimes
    trigger = {
        "orders": [
            {"customer": "acme", "amount": 120.5},
            {"customer": "globex", "amount": 80},
            {"customer": "acme", "amount": 30},
        ],
        "closed_at": "2024-03-30T22:30:00Z",
        "tz": "Europe/Paris",
    }
    result: FlowRunOutput = await temporal.client.execute_workflow(
        FLOW_RUN,
        FlowRunInput(
            definition=definition.document(),
            steps=resolved,
            trigger=trigger,
            heartbeat_timeout_s=5,
        ),
        id=f"run-{uuid.uuid4().hex[:12]}",
        task_queue=task_queue,
        result_type=FlowRunOutput,
    )
    assert result.status == "succeeded", result
    assert result.output == {
        "report": "orders-saturday-30-march-2024",
        "day": "Saturday 30 March 2024",
        "customers": [
            {"key": "acme", "count": 2, "sum": 150.5, "mean": 75.25, "min": 30, "max": 120.5},
            {"key": "globex", "count": 1, "sum": 80, "mean": 80, "min": 80, "max": 80},
        ],
        "top_customer": "acme",
        "mean_per_customer": 115.25,
    }
