"""Fixtures for the schedule tests: a slug flow, a Temporal client that always fails."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from step_sdk.bundle import Bundle
from tests.api.helpers import WorkspaceKey, insert_flow, insert_step
from tests.api.schedules.helpers import SLUG_FLOW
from ui_api.app import create_app
from ui_api.flows.models import Flow
from ui_api.services import Services


@pytest.fixture
def slug_flow(
    api_services: Services, workspace: WorkspaceKey, example_bundles: list[Bundle]
) -> Flow:
    slugify = next(b for b in example_bundles if b.manifest.name == "text.slugify")
    insert_step(api_services, workspace.workspace_id, slugify)
    return insert_flow(api_services, workspace.workspace_id, SLUG_FLOW)


@pytest_asyncio.fixture
async def broken_temporal_client(
    api_services: Services, temporal: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a Temporal client for a namespace that does not exist: every call fails."""
    config = temporal.client.config()
    broken = await Client.connect(
        config["service_client"].config.target_host, namespace=f"missing-{secrets.token_hex(4)}"
    )
    app = create_app(dataclasses.replace(api_services, temporal=broken))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepwell.test") as http:
        yield http
