"""``examples/flows/hot_leads.json`` end to end: a real Temporal run whose ``chat.notify`` step
posts to a webhook through the real egress proxy, for hot leads only.

The example's ``chat.notify`` may reach ``hooks.slack.com``; here the same code is rebuilt with
``egress`` naming the local test server (no internet), and its secret points there.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.bundles import LocalBundleStore
from activities.secrets import StaticSecrets
from sandbox.launcher import Sandbox
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import MANIFEST_FILE
from stepwell.local_steps import LocalSteps
from stepwell_settings import Settings
from tests.flows.conftest import worker_queue
from tests.sandbox.egress_fixtures import EgressServers
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]
REPO = Path(__file__).resolve().parents[2]
MARKER = uuid.uuid4().hex


def _local_webhook(bundle: Bundle, host: str) -> Bundle:
    manifest = bundle.manifest.model_copy(update={"egress": (host,)})
    return build_bundle(manifest, {p: d for p, d in bundle.files.items() if p != MANIFEST_FILE})


@pytest_asyncio.fixture
async def egress_queue(
    temporal: WorkflowEnvironment,
    egress_sandbox: Sandbox,
    egress_servers: EgressServers,
    bundle_store: LocalBundleStore,
    worker_settings: Settings,
) -> AsyncIterator[str]:
    """A worker whose sandbox has the egress proxy, and the webhook URL as the secret."""
    url = f"http://public.stepwell.test:{egress_servers.http_port}/services/T/B/{MARKER}"
    secrets = StaticSecrets({"local": {"CHAT_WEBHOOK_URL": url}})
    async with worker_queue(
        temporal, egress_sandbox, bundle_store, worker_settings, secrets
    ) as queue:
        yield queue


async def _run(
    temporal: WorkflowEnvironment, queue: str, steps: LocalSteps, trigger: Any
) -> FlowRunOutput:
    definition = FlowDefinition.model_validate(
        json.loads((REPO / "examples" / "flows" / "hot_leads.json").read_text())
    )
    request = FlowRunInput(
        definition=definition.document(),
        steps=steps.resolve(definition),
        trigger=trigger,
        heartbeat_timeout_s=5,
    )
    result: FlowRunOutput = await temporal.client.execute_workflow(
        FLOW_RUN,
        request,
        id=f"run-{uuid.uuid4().hex[:12]}",
        task_queue=queue,
        result_type=FlowRunOutput,
    )
    return result


async def test_hot_leads_are_posted_and_cold_ones_are_not(
    temporal: WorkflowEnvironment,
    egress_queue: str,
    egress_servers: EgressServers,
    bundle_store: LocalBundleStore,
    example_bundles: list[Bundle],
) -> None:
    host = f"public.stepwell.test:{egress_servers.http_port}"
    bundles = [
        _local_webhook(b, host) if b.manifest.name == "chat.notify" else b for b in example_bundles
    ]
    steps = LocalSteps(bundles, bundle_store)

    hot = await _run(temporal, egress_queue, steps, {"company": "ACME Corp", "values": [60, 90]})
    assert hot.status == "succeeded", hot
    assert hot.output == {"company": "acme-corp", "score": 75, "notified": True}
    [posted] = egress_servers.log.matching(MARKER)
    assert json.loads(posted.body) == {
        "text": "Hot lead: ACME Corp (acme-corp), score 75.0",
        "username": "Stepwell",
    }
    assert hot.steps["notify"].status == "succeeded"

    cold = await _run(temporal, egress_queue, steps, {"company": "Tiny Ltd", "values": [5, 10]})
    assert cold.status == "succeeded", cold
    assert cold.output == {"company": "tiny-ltd", "score": 7.5, "notified": False}
    assert cold.steps["notify"].status == "skipped"
    assert len(egress_servers.log.matching(MARKER)) == 1  # nothing more was posted
