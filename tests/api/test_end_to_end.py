"""The whole path through HTTP: push the example steps, save a flow, fire its webhook, read the run.

Real Temporal, real Docker, a real worker, and the routes a visual builder uses — nothing set up
behind the API's back.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from step_sdk.bundle import Bundle
from tests.api.helpers import WorkspaceKey, finished

REPO = Path(__file__).resolve().parents[2]
LEAD_INPUT = {"company": "ACME Corp", "values": [40, 70, 90]}


async def _push_examples(
    client: httpx.AsyncClient, workspace: WorkspaceKey, bundles: list[Bundle]
) -> None:
    for bundle in bundles:
        if "*" in bundle.manifest.egress:
            continue  # http.request: the default egress setting refuses "*" (tests/api/steps)
        answer = await client.post(
            "/v1/steps",
            files={"bundle": ("bundle.tgz", bundle.data, "application/gzip")},
            headers=workspace.headers,
        )
        assert answer.status_code == 201, answer.text


async def test_push_save_fire_and_read(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    api_worker: str,
    example_bundles: list[Bundle],
) -> None:
    await _push_examples(client, workspace, example_bundles)
    definition = json.loads((REPO / "examples" / "flows" / "lead.json").read_text())
    created = await client.post(
        "/v1/flows", json={"definition": definition}, headers=workspace.headers
    )
    assert created.status_code == 201, created.text
    flow_id = created.json()["id"]
    hook = await client.put(
        f"/v1/flows/{flow_id}/webhook", json={"signed": False}, headers=workspace.headers
    )
    assert hook.status_code == 201, hook.text
    url = httpx.URL(hook.json()["url"])

    fired = await client.post(url.path, json=LEAD_INPUT, headers={"Idempotency-Key": "lead-1"})
    assert fired.status_code == 202, fired.text
    run_id = fired.json()["run_id"]
    again = await client.post(url.path, json=LEAD_INPUT, headers={"Idempotency-Key": "lead-1"})
    assert again.status_code == 202 and again.json()["run_id"] == run_id

    run = await finished(client, workspace, run_id)
    assert run["status"] == "succeeded", run
    assert run["output"] == {
        "company": "acme-corp",
        "mean": 66.66666666666667,
        "notification": "hot-lead-acme-corp-66-66666666666667",
        "values": ["value-40-0", "value-70-1", "value-90-2"],
    }
    steps = run["steps"]
    assert {s: steps[s]["status"] for s in steps} == {
        "clean": "succeeded",
        "score": "succeeded",
        "notify": "succeeded",
        "each": "succeeded",
    }
    assert run["links"]["temporal_ui"].endswith(f"/workflows/{run_id}")

    # the run is the workspace's own: another workspace sees nothing
    foreign = await client.get(f"/v1/runs/{run_id}", headers=other_workspace.headers)
    assert foreign.status_code == 404
