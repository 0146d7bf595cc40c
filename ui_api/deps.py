"""FastAPI dependencies every domain uses: the services and a database session.

``SessionDep`` is for plain ``def`` routes (FastAPI runs them in its thread pool); an
``async def`` route uses ``services.transaction`` instead, so the event loop never waits on the
database. The authenticated caller is ``ui_api.auth.dependencies.CallerDep``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from ui_api.db import session_scope
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
