"""A webhook-serving API variant and the calls the webhook tests share."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.client import Client

from tests.api.helpers import WorkspaceKey
from ui_api.app import create_app
from ui_api.metrics import Metrics
from ui_api.services import Services
from ui_api.webhooks import signatures

SLUG_FLOW = {
    "name": "hook",
    "steps": [{"id": "clean", "uses": "text.slugify@1.0.0", "with": {"text": "{{ trigger.t }}"}}],
    "output": {"slug": "{{ steps.clean.output.slug }}"},
}


UNKNOWN = "no webhook at this URL (unknown or revoked token)"


@dataclass
class Hooks:
    """An API whose runs only queue, with its own metrics (and limits, if asked)."""

    http: httpx.AsyncClient
    services: Services

    def delivered(self, outcome: str) -> float:
        value = self.services.metrics.registry.get_sample_value(
            "stepwell_webhook_deliveries_total", {"outcome": outcome}
        )
        return value or 0.0


def variant(services: Services, settings: dict[str, Any] | None = None, **fields: Any) -> Services:
    changes = {"task_queue": f"hooks-idle-{secrets.token_hex(4)}", **(settings or {})}
    return Services(
        **{
            **services.__dict__,
            "settings": services.settings.model_copy(update=changes),
            "metrics": Metrics(),
            **fields,
        }
    )


@asynccontextmanager
async def serving(services: Services) -> AsyncIterator[Hooks]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://stepwell.test") as http:
        yield Hooks(http, services)


async def issue(
    http: httpx.AsyncClient, workspace: WorkspaceKey, flow_id: str, *, signed: bool = False
) -> dict[str, Any]:
    answer = await http.put(
        f"/v1/flows/{flow_id}/webhook", json={"signed": signed}, headers=workspace.headers
    )
    assert answer.status_code in (200, 201), answer.text
    issued: dict[str, Any] = answer.json()
    return issued


def path_of(issued: dict[str, Any]) -> str:
    return httpx.URL(issued["url"]).path


def signed_post(
    secret: str, payload: Any, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    headers.update(signatures.signature_headers(secret, body, timestamp))
    return body, headers


async def runs_of(temporal: Client, flow_id: str, expected: int) -> list[str]:
    """The ids of the flow's runs in Temporal visibility, once it shows ``expected`` of them."""
    query = f"StepwellFlow = '{flow_id}'"
    ids: list[str] = []
    for _ in range(100):
        ids = [execution.id async for execution in temporal.list_workflows(query)]
        if len(ids) >= expected:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # anything extra would have had time to show up too
    return sorted([execution.id async for execution in temporal.list_workflows(query)])


async def started_trigger(temporal: Client, run_id: str) -> Any:
    history = await temporal.get_workflow_handle(run_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [run_input] = await temporal.data_converter.decode(started.input.payloads)
    return run_input["trigger"]
