"""/v1 secrets: write-only workspace secrets that steps declaring them receive at run time.

Values are sealed (AES-GCM, bound to workspace and name) before they reach the database and are
never answered, logged or echoed in an error, not even a validation error.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from sqlalchemy.exc import IntegrityError

from step_sdk.errors import Problem
from step_sdk.manifest import MIN_SECRET_CHARS, SECRET_NAME_RULE, is_secret_name
from ui_api.auth.dependencies import CallerDep
from ui_api.deps import ServicesDep, SessionDep
from ui_api.errors import ApiError, invalid, not_found
from ui_api.json_body import StrictJsonRoute
from ui_api.secrets.models import Secret
from ui_api.secrets.schemas import MAX_BODY_BYTES, MAX_VALUE_BYTES, SecretOut, SecretValue
from ui_api.secrets.service import put_secret, secret_row, secret_rows

router = APIRouter(prefix="/v1", tags=["secrets"], route_class=StrictJsonRoute)

SecretName = Annotated[
    str,
    Path(
        description=f"Secret name as steps declare it in their manifest: {SECRET_NAME_RULE}. "
        "The route takes the rest of the path, so a name with a `/` in it gets the same 422 as "
        "any other name that breaks the rule, not a 404.",
        examples=["API_TOKEN"],
    ),
]


def _out(row: Secret) -> SecretOut:
    return SecretOut(name=row.name, created_at=row.created_at, updated_at=row.updated_at)


def _body_cap(request: Request) -> None:
    """Refuse an oversized body before it is read (clients that send a length)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body over {MAX_BODY_BYTES} bytes")


def _check_name(name: str) -> None:
    """A clear 422 for every name that breaks the rule, whatever it holds (`/`, `..`, markup)."""
    if not is_secret_name(name):
        raise invalid(
            "invalid secret name",
            [Problem("/path/name", f"{name[:100]!r} is not a secret name ({SECRET_NAME_RULE})")],
        )


def _value_problem(value: str) -> str | None:
    """What is wrong with the value, without ever quoting it."""
    if not value:
        return "must not be empty"
    try:
        size = len(value.encode())
    except UnicodeEncodeError:
        return "is not valid Unicode text (it contains an unpaired UTF-16 surrogate)"
    if size > MAX_VALUE_BYTES:
        return f"is {size} bytes; the limit is {MAX_VALUE_BYTES}"
    if len(value.strip()) < MIN_SECRET_CHARS:
        return (
            f"is shorter than {MIN_SECRET_CHARS} characters (not counting surrounding "
            "whitespace): too short to be a credential, and too short to redact from logs "
            "without mangling them"
        )
    return None


@router.put(
    "/secrets/{name:path}",
    response_model=SecretOut,
    status_code=status.HTTP_200_OK,
    dependencies=[Depends(_body_cap)],
    responses={
        201: {"model": SecretOut, "description": "created"},
        200: {"description": "replaced"},
        413: {"description": "body too large"},
    },
)
def put(
    name: SecretName,
    body: SecretValue,
    caller: CallerDep,
    session: SessionDep,
    services: ServicesDep,
    response: Response,
) -> SecretOut:
    """Create (201) or replace (200) a secret. Steps that declare `name` in their manifest's
    `secrets` get the value in `context.secrets` at run time; it is redacted from their logs,
    outputs and errors."""
    _check_name(name)
    value = body.value.get_secret_value()
    if problem := _value_problem(value):
        raise invalid("invalid secret value", [Problem("/value", problem)])
    created = put_secret(session, services.box, caller.workspace_id, name, value)
    try:
        session.flush()
    except IntegrityError:  # the same name created concurrently by another request
        raise ApiError(409, f"secret {name!r} was written concurrently; send it again") from None
    row = secret_row(session, caller.workspace_id, name)
    assert row is not None
    if created:
        response.status_code = status.HTTP_201_CREATED
    return _out(row)


@router.get("/secrets", response_model=list[SecretOut])
def list_secrets(caller: CallerDep, session: SessionDep) -> list[SecretOut]:
    """The workspace's secrets by name, without values."""
    return [_out(row) for row in secret_rows(session, caller.workspace_id)]


@router.delete("/secrets/{name:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete(name: SecretName, caller: CallerDep, session: SessionDep) -> None:
    """Delete a secret; steps that start afterwards no longer get it."""
    _check_name(name)
    row = secret_row(session, caller.workspace_id, name)
    if row is None:
        raise not_found("secret", name[:100])
    session.delete(row)
