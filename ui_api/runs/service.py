"""Starting runs from the API (manual starts and re-runs), at most once per idempotency key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from step_sdk.errors import Problem
from step_sdk.json_values import json_value_problems
from ui_api.errors import ApiError, invalid
from ui_api.flows import service as flow_store
from ui_api.flows.models import Flow, FlowVersion
from ui_api.runs import search_attributes
from ui_api.runs.launcher import flow_run_input, start_run
from ui_api.runs.reader import VisibleRun, visible_run
from ui_api.services import Services
from workflows.types import FlowRunInput

MAX_INPUT_BYTES = 512 * 1024  # Temporal refuses payloads of a few MB; keep well below


def idempotent_run_id(workspace_id: str, scope: str, key: str) -> str:
    """The run id for an idempotency key: the same workspace, scope and key, the same run."""
    digest = hashlib.sha256(f"{workspace_id}\0{scope}\0{key}".encode()).hexdigest()
    return f"run_{digest[:32]}"


def check_input(value: Any) -> None:
    """Refuse a run input Temporal cannot carry: values JSON cannot carry (422; a re-run's
    input read back from an old history can hold them) or too many bytes (413)."""
    if found := json_value_problems(value):
        problems = [Problem(f"/input{where}", what) for where, what in found]
        raise invalid(f"the run input holds values JSON cannot carry: {problems[0]}", problems)
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > MAX_INPUT_BYTES:
        raise ApiError(
            413, f"the run input is {size} bytes of JSON; at most {MAX_INPUT_BYTES} are accepted"
        )


@dataclass(frozen=True)
class StartedRun:
    run: VisibleRun
    created: bool  # False: the idempotency key was used before, and this is that run


def prepare_run(
    session: Session, services: Services, flow: Flow, version: FlowVersion, trigger: Any
) -> FlowRunInput:
    """The frozen input of a run of this flow version (database reads only).

    Raises:
        ApiError: 409 while the flow is disabled or a step it uses is missing; 422/413 for a
            trigger Temporal cannot carry.
    """
    flow_store.ensure_runnable(flow)
    check_input(trigger)
    return flow_run_input(session, services.settings, flow, version, trigger, services.frozen_steps)


async def start_flow_run(
    services: Services,
    run_input: FlowRunInput,
    *,
    trigger_kind: str,
    run_id: str | None,
) -> StartedRun:
    """Start a run from its prepared input (:func:`prepare_run`); no database connection is
    held meanwhile.

    With a ``run_id`` that already names a run, nothing starts and that run is returned; if it
    is a run of another flow, the key was reused for something else: 409.
    """
    started = await start_run(
        services.temporal,
        services.settings,
        run_input,
        trigger_kind=trigger_kind,
        run_id=run_id,
        frozen=services.frozen_steps,
    )
    run = await visible_run(services.temporal, run_input.workspace_id, started.run_id)
    if started.created:
        services.metrics.runs_started.labels(trigger_kind).inc()
    elif run.attribute(search_attributes.FLOW) != run_input.flow_id:
        raise ApiError(409, "this Idempotency-Key was already used to start a run of another flow")
    return StartedRun(run, started.created)
