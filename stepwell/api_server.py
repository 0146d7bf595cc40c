"""Serving the API (``stepwell api``, ``stepwell up``): connect to Temporal, migrate, build the
services, make the uvicorn server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager

import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from stepwell.background import run_periodically
from stepwell.platform import wait_for_temporal
from stepwell_settings import Settings
from ui_api.app import create_app
from ui_api.artifacts.retention import namespace_retention, remove_expired
from ui_api.runs import search_attributes
from ui_api.services import Services, build_services


async def prepare(settings: Settings, temporal: Client | None = None) -> Services:
    """Everything the API needs, ready: Temporal reachable, attributes defined, schema current."""
    temporal = temporal or await wait_for_temporal(settings)
    await search_attributes.register(temporal, settings.temporal_namespace)
    return build_services(settings, temporal)


log = logging.getLogger("stepwell.api")


async def artifact_retention(services: Services) -> None:
    """One retention pass over run artifacts (ui_api.artifacts.retention)."""
    settings = services.settings
    retention = await namespace_retention(services.temporal, settings.temporal_namespace)
    await remove_expired(services.temporal, services.engine, services.bundles, retention)


def _lifespan(services: Services) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        every_s = services.settings.artifact_retention_every_s
        task = asyncio.create_task(
            run_periodically(
                "artifact retention", lambda: artifact_retention(services), every_s=every_s, log=log
            )
        )
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan


def uvicorn_server(services: Services, *, install_signal_handlers: bool = True) -> uvicorn.Server:
    settings = services.settings
    config = uvicorn.Config(
        create_app(services, lifespan=_lifespan(services)),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )
    return uvicorn.Server(config) if install_signal_handlers else _EmbeddedServer(config)


class _EmbeddedServer(uvicorn.Server):
    """A server inside a process that handles signals itself (``stepwell up``)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
