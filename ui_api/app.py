"""The FastAPI application: routers under ``/v1``, one error shape, metrics."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI

from ui_api.errors import ErrorResponse, install_error_handlers
from ui_api.routes import flows, health, keys, runs, schedules, secrets, steps, webhooks
from ui_api.services import Services

DESCRIPTION = """\
The HTTP API of Stepwell: push steps, save flows, start and watch runs, and trigger them by
webhook or schedule.

Every request except webhook deliveries, `/healthz` and `/metrics` needs
`Authorization: Bearer <API key>`, and sees only its own workspace. Every error answers with
`{"error": {"code", "message", "details": [{"pointer", "message"}]}}`.
"""


def _version() -> str:
    try:
        return version("stepwell")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


def create_app(services: Services) -> FastAPI:
    """The API over already-built services (the server and the tests build those)."""
    app = FastAPI(
        title="Stepwell API",
        version=_version(),
        description=DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        responses={
            400: {"model": ErrorResponse},
            401: {"model": ErrorResponse},
            404: {"model": ErrorResponse},
            422: {"model": ErrorResponse},
            429: {"model": ErrorResponse},
        },
    )
    app.state.services = services
    install_error_handlers(app)
    services.metrics.install(app)
    for module in (health, keys, steps, flows, runs, webhooks, schedules, secrets):
        app.include_router(module.router)
    return app
