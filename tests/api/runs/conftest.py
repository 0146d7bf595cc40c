"""Fixtures for the /v1/runs tests: a slug flow, a chatty step, the app behind a real server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI

from step_sdk.bundle import Bundle
from tests.api.helpers import WorkspaceKey, insert_flow, insert_step
from tests.api.runs.helpers import CHATTY, SLUG_FLOW
from ui_api.services import Services


@pytest.fixture
def slug_flow(
    api_services: Services, workspace: WorkspaceKey, example_bundles: list[Bundle]
) -> str:
    slugify = next(b for b in example_bundles if b.manifest.name == "text.slugify")
    insert_step(api_services, workspace.workspace_id, slugify)
    return insert_flow(api_services, workspace.workspace_id, SLUG_FLOW).id


@pytest.fixture
def chatty(api_services: Services, workspace: WorkspaceKey) -> None:
    insert_step(api_services, workspace.workspace_id, CHATTY)


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest_asyncio.fixture
async def live_url(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real HTTP server (the in-process transport buffers whole responses)."""
    server = _QuietServer(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
