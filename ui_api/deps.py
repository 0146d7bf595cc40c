"""FastAPI dependencies: services, a database session, and the authenticated caller."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from ui_api.auth.service import lookup_key
from ui_api.db import session_scope
from ui_api.errors import ApiError
from ui_api.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with session_scope(services.engine) as session:
        yield session


# "function" scope: the transaction commits (or fails) before the response is sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer sw_...`")


@dataclass(frozen=True)
class Caller:
    """Who is calling: the workspace every query is scoped to, and the key used."""

    workspace_id: str
    key_id: str


def get_caller(
    services: ServicesDep,
    session: SessionDep,
    response: Response,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """Authenticate the bearer key, then spend a token of its rate limit."""
    challenge = {"WWW-Authenticate": 'Bearer realm="stepwell"'}
    if credentials is None:
        raise ApiError(
            401, "missing API key: send 'Authorization: Bearer <key>'", headers=challenge
        )
    row = lookup_key(session, credentials.credentials)
    if row is None:
        raise ApiError(401, "invalid or revoked API key", headers=challenge)
    decision = services.key_limiter.take(row.id)
    if not decision.allowed:
        services.metrics.rate_limited.labels("api_key").inc()
        raise ApiError(
            429,
            f"rate limit of {services.key_limiter.rate:g} requests/s for this key exceeded; "
            f"retry in {decision.retry_after_s} s",
            headers=decision.headers(),
        )
    response.headers.update(decision.headers())
    caller = Caller(workspace_id=row.workspace_id, key_id=row.id)
    # End the transaction: async handlers await Temporal, and a connection held across an await
    # can exhaust the pool while the blocked event loop keeps others from returning theirs.
    session.commit()
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
