"""Serving the API (``stepwell api``, ``stepwell up``): connect to Temporal, migrate, build the
services, make the uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from temporalio.client import Client

from stepwell.platform import wait_for_temporal
from stepwell_settings import Settings
from ui_api.app import create_app
from ui_api.runs import search_attributes
from ui_api.services import Services, build_services


async def prepare(settings: Settings, temporal: Client | None = None) -> Services:
    """Everything the API needs, ready: Temporal reachable, attributes defined, schema current."""
    temporal = temporal or await wait_for_temporal(settings)
    await search_attributes.register(temporal, settings.temporal_namespace)
    return build_services(settings, temporal)


def uvicorn_server(services: Services, *, install_signal_handlers: bool = True) -> uvicorn.Server:
    settings = services.settings
    config = uvicorn.Config(
        create_app(services),
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
