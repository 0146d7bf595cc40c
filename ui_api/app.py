"""The FastAPI application: routers under ``/v1``, one error shape, metrics."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp, Lifespan

from ui_api.artifacts import router as artifacts
from ui_api.auth import router as keys
from ui_api.console import STATIC, SecurityHeaders, install_console
from ui_api.errors import ErrorResponse, install_error_handlers
from ui_api.flows import router as flows
from ui_api.health import router as health
from ui_api.runs import router as runs
from ui_api.schedules import router as schedules
from ui_api.secrets import router as secrets
from ui_api.services import Services
from ui_api.steps import router as steps
from ui_api.webhooks import router as webhooks

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


class StepwellAPI(FastAPI):
    """FastAPI with :class:`SecurityHeaders` outside everything, Starlette's error middleware
    included (``add_middleware`` would put it inside, and a 500 answer would lack them)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def create_app(
    services: Services, *, console: Path = STATIC, lifespan: Lifespan[FastAPI] | None = None
) -> FastAPI:
    """The API over already-built services (the server and the tests build those), with the
    web console built into ``console`` at ``/`` and the reference pages at ``/docs`` and
    ``/redoc`` (served from local files: FastAPI's own pages load scripts from a CDN).
    ``lifespan``: what the server runs beside the app (the periodic passes of
    ``stepwell.api_server``)."""
    app = StepwellAPI(
        title="Stepwell API",
        version=_version(),
        description=DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
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
    for module in (health, keys, steps, flows, runs, artifacts, webhooks, schedules, secrets):
        app.include_router(module.router)
    install_console(app, console)
    return app
