"""Helpers the API tests of every domain share: workspaces and keys, the error shape, data set-up
that bypasses the routes under test, waiting for a run to finish.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import textwrap
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Manifest
from stepwell.leases import new_owner_id
from ui_api.app import create_app
from ui_api.auth.service import create_key, create_workspace
from ui_api.db import session_scope
from ui_api.flows.models import Flow, FlowVersion
from ui_api.metrics import Metrics
from ui_api.services import Services
from ui_api.steps.models import StepVersion

# The owner id the API tests' real worker (tests/api/conftest.py: api_worker) goes by: the
# identity its runs' histories name.
API_WORKER = new_owner_id()


@dataclass(frozen=True)
class WorkspaceKey:
    workspace_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def new_workspace(services: Services) -> WorkspaceKey:
    with session_scope(services.engine) as session:
        workspace = create_workspace(session, f"test-{secrets.token_hex(6)}")
        _, key = create_key(session, workspace.id)
    return WorkspaceKey(workspace.id, key)


@asynccontextmanager
async def api_with_egress(services: Services, mode: str) -> AsyncIterator[httpx.AsyncClient]:
    """The same API and database, with the operator's ``egress`` setting set to ``mode``."""
    settings = services.settings.model_copy(update={"egress": mode})
    app = create_app(dataclasses.replace(services, settings=settings, metrics=Metrics()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepwell.test") as http:
        yield http


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the one error shape with this status (and code); returns ``error``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error["details"], list), body
    if code is not None:
        assert error["code"] == code, body
    return error


# --- data set-up without going through the routes under test ------------------------------------


def insert_step(services: Services, workspace_id: str, bundle: Bundle) -> StepVersion:
    """Store a bundle and register its step version in a workspace (as a push would)."""
    digest = services.bundles.put(bundle.data)
    with session_scope(services.engine) as session:
        row = StepVersion(
            workspace_id=workspace_id,
            name=bundle.manifest.name,
            version=bundle.manifest.version,
            digest=digest,
            size=len(bundle.data),
            manifest=bundle.manifest.model_dump(mode="json"),
        )
        session.add(row)
    return row


def insert_flow(
    services: Services, workspace_id: str, definition: dict[str, Any], *, enabled: bool = True
) -> Flow:
    """A flow with one version holding ``definition`` (not validated: set-up only)."""
    with session_scope(services.engine) as session:
        flow = Flow(
            workspace_id=workspace_id,
            name=f"{definition.get('name', 'flow')}-{secrets.token_hex(3)}",
            enabled=enabled,
        )
        session.add(flow)
        session.add(FlowVersion(flow_id=flow.id, version=1, definition=definition))
    return flow


async def finished(
    client: httpx.AsyncClient, workspace: WorkspaceKey, run_id: str, timeout_s: float = 90
) -> dict[str, Any]:
    """Poll ``GET /v1/runs/{id}`` until the run is no longer running; return it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = await client.get(f"/v1/runs/{run_id}", headers=workspace.headers)
        assert answer.status_code == 200, answer.text
        run: dict[str, Any] = answer.json()
        if run["status"] != "running":
            return run
        await asyncio.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish in {timeout_s} s")


# A step that sleeps ``seconds`` (for runs that must still be going, or time out).
NAP = build_bundle(
    Manifest.model_validate(
        {
            "name": "test.nap",
            "version": "1.0.0",
            "entrypoint": "step:main",
            "limits": {"timeout_s": 120},
        }
    ),
    {
        "step.py": textwrap.dedent(
            """
            import time
            from step_sdk import step

            @step(name="test.nap", version="1.0.0")
            def main(seconds: float) -> str:
                time.sleep(seconds)
                return "rested"
            """
        ).encode()
    },
)
