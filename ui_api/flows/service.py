"""Flows and their immutable versions in the database, always within one workspace.

Every lookup takes the caller's workspace id: a flow of another workspace is "not found",
exactly like one that does not exist.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from step_sdk.errors import Problem
from ui_api.columns import utcnow
from ui_api.errors import ApiError, invalid, not_found
from ui_api.flows.models import Flow, FlowVersion
from ui_api.schedules.models import Schedule
from ui_api.steps.catalog import WorkspaceCatalog
from ui_api.webhooks.models import Webhook
from workflows.validation import validate_flow

NAME_MAX = 100  # the flow table's name column; definitions allow longer names than we store


def get_flow(session: Session, workspace_id: str, flow_id: str) -> Flow:
    flow = session.get(Flow, flow_id) if len(flow_id) <= 40 else None
    if flow is None or flow.workspace_id != workspace_id:
        raise not_found("flow", flow_id)
    return flow


def find_version(session: Session, flow: Flow, version: int) -> FlowVersion | None:
    return session.exec(
        select(FlowVersion).where(FlowVersion.flow_id == flow.id, FlowVersion.version == version)
    ).first()


def get_version(session: Session, flow: Flow, version: int) -> FlowVersion:
    found = find_version(session, flow, version)
    if found is None:
        raise ApiError(404, f"flow {flow.id!r} has no version {version}")
    return found


def latest_version(session: Session, flow: Flow) -> FlowVersion:
    return get_version(session, flow, flow.latest_version)


def definition_problems(
    session: Session, workspace_id: str, document: Any, *, max_run_timeout_s: float | None = None
) -> list[Problem]:
    """Every static problem of a definition, with pointers into the request body
    (``max_run_timeout_s``: the operator's longest run, see ``validate_flow``)."""
    problems = validate_flow(
        document, WorkspaceCatalog(session, workspace_id), max_run_timeout_s=max_run_timeout_s
    )
    name = document.get("name") if isinstance(document, dict) else None
    if isinstance(name, str):
        problems += name_problems(name)
    return [Problem("/definition" + p.pointer, p.message) for p in problems]


def name_problems(name: str) -> list[Problem]:
    """What is wrong with a flow name a user wants to save (pointer ``/name``).

    Names are shown in lists, headers and logs, so they may not hide or reorder text: no control
    characters (Unicode category Cc, e.g. newline, NUL) and no format characters (Cf: the bidi
    overrides and isolates U+202A-U+202E and U+2066-U+2069, zero-width characters, soft
    hyphen), and not only white space. Only saving checks this; names saved before the rule
    still read and run.
    """
    problems = []
    if len(name) > NAME_MAX:
        problems.append(Problem("/name", f"a saved flow's name has at most {NAME_MAX} characters"))
    if name and not name.strip():
        problems.append(Problem("/name", "a flow's name cannot be only white space"))
    hidden = sorted({ch for ch in name if unicodedata.category(ch) in ("Cc", "Cf")})
    if hidden:
        shown = ", ".join(f"U+{ord(ch):04X}" for ch in hidden[:5])
        problems.append(
            Problem("/name", f"a flow's name cannot hold control or format characters ({shown})")
        )
    return problems


def checked_definition(
    session: Session, workspace_id: str, document: dict[str, Any], max_run_timeout_s: float
) -> str:
    """The definition's name, once the definition has no problem (else 422 listing them all)."""
    problems = definition_problems(
        session, workspace_id, document, max_run_timeout_s=max_run_timeout_s
    )
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise invalid(f"the flow definition has {count}: {problems[0]}", problems)
    return str(document["name"])


def _ensure_name_free(session: Session, workspace_id: str, name: str, flow_id: str = "") -> None:
    holder = session.exec(
        select(Flow).where(Flow.workspace_id == workspace_id, Flow.name == name)
    ).first()
    if holder is not None and holder.id != flow_id:
        raise ApiError(
            409,
            f"another flow ({holder.id}) is already named {name!r}",
            details=[Problem("/definition/name", "is already the name of another flow")],
        )


def _flush(session: Session, conflict: str) -> None:
    """Flush, turning a unique-constraint race with a concurrent request into a 409."""
    try:
        session.flush()
    except sa.exc.IntegrityError:
        raise ApiError(409, conflict) from None


def create_flow(
    session: Session, workspace_id: str, document: dict[str, Any], *, max_run_timeout_s: float
) -> Flow:
    """Save a valid definition as version 1 of a new flow."""
    name = checked_definition(session, workspace_id, document, max_run_timeout_s)
    _ensure_name_free(session, workspace_id, name)
    flow = Flow(workspace_id=workspace_id, name=name)
    session.add(flow)
    _flush(session, f"a flow named {name!r} was created at the same time")
    session.add(FlowVersion(flow_id=flow.id, version=1, definition=document))
    _flush(session, f"a flow named {name!r} was created at the same time")
    return flow


def add_version(
    session: Session,
    flow: Flow,
    document: dict[str, Any],
    base_version: int | None = None,
    *,
    max_run_timeout_s: float,
) -> FlowVersion:
    """Save a valid definition as the flow's next version; earlier versions stay as they were."""
    name = checked_definition(session, flow.workspace_id, document, max_run_timeout_s)
    if base_version is not None and base_version != flow.latest_version:
        raise ApiError(
            409,
            f"flow {flow.id!r} was saved since version {base_version} "
            f"(latest is {flow.latest_version}); reload it and apply your change again",
            details=[Problem("/base_version", f"is not the latest version {flow.latest_version}")],
        )
    _ensure_name_free(session, flow.workspace_id, name, flow.id)
    version = FlowVersion(flow_id=flow.id, version=flow.latest_version + 1, definition=document)
    session.add(version)
    flow.name, flow.latest_version, flow.updated_at = name, version.version, utcnow()
    session.add(flow)
    _flush(session, f"flow {flow.id!r} was saved by another request at the same time; retry")
    return version


def set_enabled(session: Session, flow: Flow, enabled: bool) -> None:
    if flow.enabled != enabled:
        flow.enabled, flow.updated_at = enabled, utcnow()
        session.add(flow)
        session.flush()


def delete_flow_rows(session: Session, flow: Flow) -> None:
    """Delete the flow, its versions, its webhook and any schedule rows left (children first)."""
    for model in (FlowVersion, Webhook, Schedule):
        for row in session.exec(select(model).where(model.flow_id == flow.id)).all():
            session.delete(row)
        session.flush()
    session.delete(flow)
    session.flush()


def list_flows(
    session: Session, workspace_id: str, *, enabled: bool | None, after: str | None, limit: int
) -> list[tuple[Flow, FlowVersion]]:
    """Up to ``limit`` flows of the workspace with their latest versions, in name order, after
    the name ``after``."""
    query = (
        select(Flow, FlowVersion)
        .join(
            FlowVersion,
            sa.and_(
                col(FlowVersion.flow_id) == col(Flow.id),
                col(FlowVersion.version) == col(Flow.latest_version),
            ),
        )
        .where(Flow.workspace_id == workspace_id)
    )
    if enabled is not None:
        query = query.where(Flow.enabled == enabled)
    if after is not None:
        query = query.where(col(Flow.name) > after)
    return list(session.exec(query.order_by(col(Flow.name)).limit(limit)).all())


def list_versions(
    session: Session, flow: Flow, *, before: int | None, limit: int
) -> list[FlowVersion]:
    """Up to ``limit`` versions of the flow, newest first, older than ``before``."""
    query = select(FlowVersion).where(FlowVersion.flow_id == flow.id)
    if before is not None:
        query = query.where(col(FlowVersion.version) < before)
    return list(session.exec(query.order_by(col(FlowVersion.version).desc()).limit(limit)).all())


def ensure_runnable(flow: Flow) -> None:
    """A disabled flow refuses new runs, whatever the trigger."""
    if not flow.enabled:
        raise ApiError(409, f"flow {flow.id!r} is disabled: enable it to start runs")
