"""``GET /v1/runs/{run_id}/artifacts/{step_id}/{name}``: download one artifact.

An artifact is whatever a step wrote: it is always served as an attachment, never sniffed
(``X-Content-Type-Options: nosniff``), and under ``Content-Security-Policy: sandbox`` so that
even a browser that renders it (an ``text/html`` or SVG file opened directly) gives it an opaque
origin with no script: it can never act in the API's origin.
"""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from activities.bundles import BundleNotFound
from ui_api.artifacts.service import find_artifact
from ui_api.auth.dependencies import CallerDep
from ui_api.deps import ServicesDep
from ui_api.errors import ApiError, ErrorResponse

router = APIRouter(prefix="/v1", tags=["runs"])

SANDBOX_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
# RFC 5987 attr-char: what may stand unencoded in ``filename*``
_ATTR_CHARS = "!#$&+-.^_`|~"


def content_disposition(name: str) -> str:
    """``attachment`` with the name as RFC 6266/5987 ``filename*`` (UTF-8, percent-encoded) and
    an ASCII ``filename`` fallback (anything else replaced by ``_``)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\%' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"


@router.get(
    "/runs/{run_id}/artifacts/{step_id}/{name}",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "the artifact's bytes"},
        404: {"model": ErrorResponse, "description": "no such artifact in this workspace"},
    },
)
async def download_artifact(
    run_id: str,
    step_id: str,
    name: str,
    caller: CallerDep,
    services: ServicesDep,
    attempt: Annotated[int | None, Query(ge=1, description="an earlier attempt's file")] = None,
) -> Response:
    """One artifact a step execution saved (``step_id``: the execution, `each[2]` for a foreach
    item), from its latest attempt unless ``attempt`` is given."""
    row = await services.session(
        lambda s: find_artifact(s, caller.workspace_id, run_id, step_id, name, attempt)
    )
    if row is None:
        raise ApiError(404, f"no artifact {name!r} of step {step_id!r} in run {run_id!r}")
    try:
        data = await asyncio.get_running_loop().run_in_executor(
            services.db_threads, services.bundles.get, row.digest
        )
    except BundleNotFound:
        raise ApiError(404, f"the bytes of artifact {name!r} are no longer stored") from None
    return Response(
        content=data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": content_disposition(row.name),
            "Content-Security-Policy": SANDBOX_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-cache",
        },
    )
