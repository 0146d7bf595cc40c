"""A bundle store that cannot be reached is the platform's fault: the step is retried on the
platform's budget (not its attempts) until the store is back, and the run's record names no
bucket or setting (those go to the worker's log)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.bundle_s3 import S3BundleStore
from activities.bundles import LocalBundleStore
from sandbox.launcher import Sandbox
from stepwell.local_steps import LocalSteps
from stepwell_settings import Settings
from tests.api.bundles.moto import REGION
from tests.flows.conftest import inline_step, worker_queue
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, FlowRunOutput

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = [pytest.mark.temporal, pytest.mark.docker]


async def _failed_activities(handle: WorkflowHandle[Any, Any]) -> int:
    history = await handle.fetch_history()
    return sum(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED for e in history.events)


async def test_a_step_waits_out_a_bundle_store_outage_without_spending_its_attempts(
    temporal: WorkflowEnvironment,
    sandbox: Sandbox,
    s3_url: str,
    s3: S3Client,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bucket = f"later-{uuid.uuid4().hex[:10]}"  # created only once the run has met the outage
    store = S3BundleStore(bucket, endpoint_url=s3_url, region=REGION)
    name = f"test.outage{uuid.uuid4().hex[:6]}"
    step = inline_step(name, "def main():\n    return 'fetched'\n", retry={"max_attempts": 1})
    definition = FlowDefinition.model_validate(
        {"name": "outage", "steps": [{"id": "one", "uses": f"{name}@1.0.0"}]}
    )
    # the digests, without the bucket (a directory store elsewhere computes them the same way)
    steps = LocalSteps([step], LocalBundleStore(tmp_path / "elsewhere")).resolve(definition)
    settings = Settings(max_concurrent_steps=2, worker_shutdown_grace_s=5, heartbeat_timeout_s=5)
    caplog.set_level(logging.WARNING, logger="stepwell.worker")
    async with worker_queue(temporal, sandbox, store, settings) as queue:
        handle = await temporal.client.start_workflow(
            FLOW_RUN,
            FlowRunInput(definition=definition.document(), steps=steps, heartbeat_timeout_s=5),
            id=f"run-{uuid.uuid4().hex[:12]}",
            task_queue=queue,
            result_type=FlowRunOutput,
        )
        for _ in range(300):
            if await _failed_activities(handle) >= 1:
                break
            await asyncio.sleep(0.1)
        assert await _failed_activities(handle) >= 1, "the step never met the outage"
        s3.create_bucket(Bucket=bucket)
        store.put(step.data)
        result = await asyncio.wait_for(handle.result(), 60)
    one = result.steps["one"]
    assert (one.status, result.output) == ("succeeded", {"one": "fetched"})
    assert one.attempts == 1 and one.infra_retries >= 1
    assert one.infra_error is not None
    assert one.infra_error["message"].endswith("the bundle store is unavailable")
    assert bucket not in str(one.infra_error) and "STEPWELL_" not in str(one.infra_error)
    history = await handle.fetch_history()
    assert bucket not in str(history.events)  # nothing of the operator's setup in the history
    assert f"bucket {bucket!r}" in caplog.text and "STEPWELL_S3_BUCKET" in caplog.text
