"""``/healthz`` (API, database, Temporal) and Prometheus ``/metrics``."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from ui_api.deps import ServicesDep
from ui_api.health.schemas import Health
from ui_api.json_body import StrictJsonRoute

router = APIRouter(tags=["operations"], route_class=StrictJsonRoute)


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "a dependency is unreachable"}},
)
async def healthz(services: ServicesDep) -> JSONResponse:
    """Whether the API, its database and Temporal answer (503 if either dependency fails)."""

    def database() -> str:
        try:
            with services.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            return f"error: {type(exc).__name__}"
        return "ok"

    async def temporal() -> str:
        try:
            await asyncio.wait_for(services.temporal.service_client.check_health(), timeout=3)
        except Exception as exc:
            return f"error: {type(exc).__name__}"
        return "ok"

    db_state, temporal_state = await asyncio.gather(asyncio.to_thread(database), temporal())
    healthy = db_state == "ok" and temporal_state == "ok"
    body = Health(
        status="ok" if healthy else "degraded",
        api="ok",
        database=db_state,
        temporal=temporal_state,
    )
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(services: ServicesDep) -> Response:
    """Prometheus text exposition of this API process."""
    return services.metrics.exposition()
