"""Starting runs: freeze a flow version and its steps into a ``FlowRun`` input, start it once.

Manual starts, webhooks and schedules all come through here. A run's id is its Temporal
workflow id; a caller that passes a deterministic id (an idempotency key) gets at most one run
for it, because Temporal refuses a second workflow with the same id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from stepwell_settings import Settings
from ui_api.columns import new_id
from ui_api.errors import ApiError
from ui_api.flows.models import Flow, FlowVersion
from ui_api.runs import search_attributes
from ui_api.steps.catalog import WorkspaceCatalog
from workflows.definition import DEFAULT_RUN_TIMEOUT_S, FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, ResolvedStep

TRIGGERS = ("manual", "webhook", "schedule", "rerun")


@dataclass(frozen=True)
class Started:
    run_id: str
    created: bool  # False: an earlier request with the same id already started it


def new_run_id() -> str:
    return new_id("run")


def flow_run_input(
    session: Session,
    settings: Settings,
    flow: Flow,
    version: FlowVersion,
    trigger: Any,
) -> FlowRunInput:
    """Everything the run needs, with each step's bundle digest and manifest frozen."""
    definition = FlowDefinition.model_validate(version.definition)
    catalog = WorkspaceCatalog(session, flow.workspace_id)
    steps: dict[str, ResolvedStep] = {}
    for step in definition.steps:
        if step.uses in steps:
            continue
        row = catalog.row(step.step_name, step.step_version)
        if row is None:
            raise ApiError(409, f"flow step {step.id!r} uses {step.uses}, which is not pushed")
        steps[step.uses] = ResolvedStep(digest=row.digest, manifest=row.manifest)
    return FlowRunInput(
        definition=version.definition,
        steps=steps,
        trigger=trigger,
        workspace_id=flow.workspace_id,
        flow_id=flow.id,
        flow_version=version.version,
        heartbeat_timeout_s=settings.heartbeat_timeout_s,
    )


def run_timeout(settings: Settings, run_input: FlowRunInput) -> timedelta:
    """How long Temporal lets the run go on before ending it as timed out: the flow's
    ``timeout_s`` (default 1 h), capped at the operator's ``run_timeout_max_s``."""
    try:
        definition = FlowDefinition.model_validate(run_input.definition)
    except ValidationError:
        # A definition stored by an older version must still start (and then fail on its own
        # terms, as a step error); it gets the default time limit.
        return timedelta(seconds=min(DEFAULT_RUN_TIMEOUT_S, settings.run_timeout_max_s))
    return timedelta(seconds=definition.run_timeout_s(settings.run_timeout_max_s))


async def start_run(
    temporal: Client,
    settings: Settings,
    run_input: FlowRunInput,
    *,
    trigger_kind: str,
    run_id: str | None = None,
) -> Started:
    """Start the run; with a ``run_id`` that was used before, return that run instead."""
    run_id = run_id or new_run_id()
    try:
        await temporal.start_workflow(
            FLOW_RUN,
            run_input,
            id=run_id,
            task_queue=settings.task_queue,
            execution_timeout=run_timeout(settings, run_input),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search_attributes.for_run(
                run_input.workspace_id, run_input.flow_id, run_input.flow_version, trigger_kind
            ),
        )
    except WorkflowAlreadyStartedError:
        return Started(run_id, created=False)
    return Started(run_id, created=True)
