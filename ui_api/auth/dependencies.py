"""The authenticated caller: a bearer API key, its workspace, and its rate limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ui_api.auth.service import lookup_key
from ui_api.deps import ServicesDep, SessionDep
from ui_api.errors import ApiError

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
    caller = Caller(workspace_id=row.workspace_id, key_id=row.id)
    # End the transaction: async handlers await Temporal, and a connection held across an await
    # can exhaust the pool while the blocked event loop keeps others from returning theirs. It
    # also keeps this request to one pooled connection at a time while the limiter takes its own.
    session.commit()
    # the key's bucket is in the database, shared by every API process (ui_api.auth.ratelimit);
    # a database that cannot be reached fails the request (500), it does not skip the limit
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
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
