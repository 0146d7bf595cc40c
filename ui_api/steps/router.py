"""/v1/steps: push step bundles, browse the catalogue, read versions, deprecate them."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from activities.bundles import BundleNotFound
from step_sdk.manifest import Manifest
from ui_api.auth.dependencies import CallerDep
from ui_api.cursors import decode_position, encode_position
from ui_api.deps import ServicesDep, SessionDep
from ui_api.encodable import encodable
from ui_api.errors import ApiError, ErrorResponse
from ui_api.json_body import StrictJsonRoute
from ui_api.steps.bundle_check import check_bundle
from ui_api.steps.catalog import stored_runtime
from ui_api.steps.egress import check_policy, stored_egress, stored_entries
from ui_api.steps.models import StepVersion
from ui_api.steps.schemas import (
    CatalogueItem,
    CataloguePage,
    DeprecateRequest,
    StepVersionDetail,
    StepVersionOut,
    VersionList,
)
from ui_api.steps.service import (
    catalogue_page,
    find_version,
    register,
    set_deprecation,
    versions_of,
)
from ui_api.steps.uploads import file_form_schema, read_file_field

router = APIRouter(prefix="/v1", tags=["steps"], route_class=StrictJsonRoute)

NamePath = Annotated[str, Path(description="the step's dotted name, e.g. `text.slugify`")]
VersionPath = Annotated[str, Path(description="a semantic version, e.g. `1.2.0`")]


def _out(row: StepVersion) -> StepVersionOut:
    return StepVersionOut(
        name=row.name,
        version=row.version,
        ref=f"{row.name}@{row.version}",
        title=str(row.manifest.get("title", "")),
        description=str(row.manifest.get("description", "")),
        digest=row.digest,
        size=row.size,
        created_at=row.created_at,
        deprecated=row.deprecated,
        deprecation_message=row.deprecation_message,
        egress=stored_egress(row.manifest),
        runtime=stored_runtime(row.manifest),
        egress_widened=stored_entries(row.egress_widened),
    )


def _detail(row: StepVersion) -> StepVersionDetail:
    # A manifest stored before pushes were strict can hold a lone surrogate: show it escaped.
    # Its egress is shown as stored (_out) and not validated again here, so an entry a later
    # grammar would refuse cannot make the version unreadable.
    stored = {k: v for k, v in encodable(row.manifest).items() if k != "egress"}
    manifest = Manifest.model_validate(stored)
    return StepVersionDetail(
        **_out(row).model_dump(),
        entrypoint=manifest.entrypoint,
        requirements=list(manifest.requirements),
        input_schema=manifest.input_schema,
        output_schema=manifest.output_schema,
        limits=manifest.limits,
        retry=manifest.retry,
        secrets=list(manifest.secrets),
        examples=list(manifest.examples),
        manifest=row.manifest,
    )


@router.post(
    "/steps",
    response_model=StepVersionDetail,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": StepVersionDetail, "description": "the identical bundle was pushed before"},
        409: {"model": ErrorResponse, "description": "this version exists with another digest"},
        422: {
            "model": ErrorResponse,
            "description": "the bundle is invalid, or its egress is not allowed here "
            "(code `egress_not_allowed`: see the `egress` setting)",
        },
        413: {"model": ErrorResponse, "description": "the upload is over `bundle_max_kb`"},
        415: {"model": ErrorResponse, "description": "the body is not multipart/form-data"},
    },
    openapi_extra=file_form_schema(
        "bundle", "the gzip'd tar that `stepwell step build` writes (`stepwell.json` at its root)"
    ),
)
async def push_step(
    request: Request,
    response: Response,
    caller: CallerDep,
    session: SessionDep,
    services: ServicesDep,
) -> StepVersionDetail:
    """Push a step bundle (multipart/form-data, file field `bundle`).

    The server validates the bundle without importing or running any of it: size caps, safe tar
    entries only, the manifest and its schemas, exact requirement pins (`name==version` for
    `python3.11`, npm `name@version` for `node20`), the entrypoint's module. The
    answer is 201 with the new version, or 200 if these exact bytes were pushed before; the same
    `name@version` with different bytes is a 409, since pushed versions never change.

    The manifest's `egress` must be allowed by the operator's `egress` setting (422 with code
    `egress_not_allowed` otherwise): `declared` refuses `*` entries, `off` refuses any egress.
    The new version's `egress_widened` lists what its egress adds over the previous version's.
    """
    max_bytes = services.settings.bundle_max_kb * 1024
    data = await read_file_field(request, "bundle", max_bytes)
    checked = await asyncio.to_thread(check_bundle, data)
    check_policy(checked.manifest, services.settings.egress, checked.declared_egress)
    registered = await asyncio.to_thread(
        register, session, services.bundles, caller.workspace_id, checked
    )
    if not registered.created:
        response.status_code = status.HTTP_200_OK
    return _detail(registered.row)


@router.get("/steps", response_model=CataloguePage)
def list_steps(
    caller: CallerDep,
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(max_length=200, description="only steps whose name, title or description has this"),
    ] = None,
    include_deprecated: Annotated[
        bool, Query(description="also list steps whose every version is deprecated")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=200, description="page size")] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=400, description="`next_cursor` of the previous page (cursor paging)"),
    ] = None,
) -> CataloguePage:
    """The step catalogue: one entry per step name, in name order, paginated by cursor."""
    after = str(decode_position(cursor, "after", str)) if cursor is not None else None
    entries, more = catalogue_page(
        session,
        caller.workspace_id,
        query=q,
        include_deprecated=include_deprecated,
        limit=limit,
        after=after,
    )
    items = [CatalogueItem.model_validate(entry, from_attributes=True) for entry in entries]
    next_cursor = encode_position({"after": entries[-1].name}) if more and entries else None
    return CataloguePage(items=items, next_cursor=next_cursor)


@router.get("/steps/{name}/versions", response_model=VersionList)
def list_versions(name: NamePath, caller: CallerDep, session: SessionDep) -> VersionList:
    """Every version of a step, deprecated ones included, oldest first (semantic order)."""
    return VersionList(items=[_out(row) for row in versions_of(session, caller.workspace_id, name)])


@router.get("/steps/{name}/versions/{version}", response_model=StepVersionDetail)
def get_version(
    name: NamePath, version: VersionPath, caller: CallerDep, session: SessionDep
) -> StepVersionDetail:
    """One version with its manifest, schemas, examples, limits, retry policy and secrets."""
    return _detail(find_version(session, caller.workspace_id, name, version))


@router.get(
    "/steps/{name}/versions/{version}/bundle",
    response_class=Response,
    responses={200: {"content": {"application/gzip": {}}, "description": "the bundle bytes"}},
)
def get_bundle(
    name: NamePath,
    version: VersionPath,
    caller: CallerDep,
    session: SessionDep,
    services: ServicesDep,
) -> Response:
    """The bundle exactly as pushed (`application/gzip`); its sha256 is the version's digest."""
    row = find_version(session, caller.workspace_id, name, version)
    try:
        data = services.bundles.get(row.digest)
    except BundleNotFound:
        raise ApiError(
            500, f"the bundle {row.digest} is missing from the store", code="bundle_missing"
        ) from None
    return Response(
        content=data,
        media_type="application/gzip",
        headers={
            "Content-Disposition": f'attachment; filename="{row.name}-{row.version}.tgz"',
            "ETag": f'"{row.digest}"',
        },
    )


@router.post("/steps/{name}/versions/{version}/deprecate", response_model=StepVersionOut)
def deprecate_version(
    name: NamePath,
    version: VersionPath,
    caller: CallerDep,
    session: SessionDep,
    body: DeprecateRequest | None = None,
) -> StepVersionOut:
    """Deprecate a version (the body is optional). Flows that use it keep running it; the
    catalogue hides a step once every version is deprecated. Deprecating again replaces the
    message."""
    row = find_version(session, caller.workspace_id, name, version)
    set_deprecation(session, row, True, body.message if body else "")
    return _out(row)


@router.delete("/steps/{name}/versions/{version}/deprecation", response_model=StepVersionOut)
def undeprecate_version(
    name: NamePath, version: VersionPath, caller: CallerDep, session: SessionDep
) -> StepVersionOut:
    """Undo a deprecation (a no-op for a version that is not deprecated)."""
    row = find_version(session, caller.workspace_id, name, version)
    set_deprecation(session, row, False, "")
    return _out(row)
