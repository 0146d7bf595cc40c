"""Fixtures for the webhook tests: an API whose runs only queue, a flow to hook."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from step_sdk.bundle import Bundle
from tests.api.helpers import WorkspaceKey, insert_flow, insert_step
from tests.api.webhooks.helpers import SLUG_FLOW, Hooks, serving, variant
from ui_api.flows.models import Flow
from ui_api.services import Services


@pytest_asyncio.fixture
async def hooks(api_services: Services) -> AsyncIterator[Hooks]:
    async with serving(variant(api_services)) as made:
        yield made


@pytest.fixture
def slugify(example_bundles: list[Bundle]) -> Bundle:
    return next(b for b in example_bundles if b.manifest.name == "text.slugify")


@pytest.fixture
def flow(api_services: Services, workspace: WorkspaceKey, slugify: Bundle) -> Flow:
    insert_step(api_services, workspace.workspace_id, slugify)
    return insert_flow(api_services, workspace.workspace_id, SLUG_FLOW)
