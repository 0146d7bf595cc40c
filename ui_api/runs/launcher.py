"""Starting runs: freeze a flow version and its steps into a ``FlowRun`` input, start it once.

Manual starts, webhooks and schedules all come through here. A run's id is its Temporal
workflow id; a caller that passes a deterministic id (an idempotency key) gets at most one run
for it, because Temporal refuses a second workflow with the same id.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

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
from workflows.definition import DEFAULT_RUN_TIMEOUT_S, LONGEST_RUN_TIMEOUT_S, FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, ResolvedStep

TRIGGERS = ("manual", "webhook", "schedule", "rerun")


@dataclass(frozen=True)
class Started:
    run_id: str
    created: bool  # False: an earlier request with the same id already started it


def new_run_id() -> str:
    return new_id("run")


class FrozenSteps:
    """The step versions a flow version freezes to, remembered (least recently used first out).

    A flow version and a pushed step version are both immutable, so a flow version always
    freezes to the same digests and manifests: starting a run from memory spares it the
    definition's validation and the catalogue's queries. Thread-safe (transactions run on
    worker threads)."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str, int], dict[str, ResolvedStep]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, int]) -> dict[str, ResolvedStep] | None:
        with self._lock:
            steps = self._items.get(key)
            if steps is not None:
                self._items.move_to_end(key)
            return steps

    def put(self, key: tuple[str, str, int], steps: dict[str, ResolvedStep]) -> None:
        with self._lock:
            self._items[key] = steps
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def flow_run_input(
    session: Session,
    settings: Settings,
    flow: Flow,
    version: FlowVersion,
    trigger: Any,
    frozen: FrozenSteps | None = None,
) -> FlowRunInput:
    """Everything the run needs, with each step's bundle digest and manifest frozen
    (remembered in ``frozen`` when given).

    Raises:
        ApiError: 409 when a step the flow uses is not pushed (any more) in its workspace.
    """
    key = (flow.workspace_id, flow.id, version.version)
    steps = frozen.get(key) if frozen is not None else None
    if steps is None:
        steps = _freeze(session, flow, version)
        if frozen is not None:
            frozen.put(key, steps)
    return FlowRunInput(
        definition=version.definition,
        steps=steps,
        trigger=trigger,
        workspace_id=flow.workspace_id,
        flow_id=flow.id,
        flow_version=version.version,
        heartbeat_timeout_s=settings.heartbeat_timeout_s,
    )


def _freeze(session: Session, flow: Flow, version: FlowVersion) -> dict[str, ResolvedStep]:
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
    return steps


def run_timeout(settings: Settings, run_input: FlowRunInput) -> timedelta:
    """How long Temporal lets the run go on before ending it as timed out: the flow's
    ``timeout_s`` (default 1 h), capped at the operator's ``run_timeout_max_s``.

    Only that field is read (saving validated it): a definition stored by an older version
    that would no longer validate still starts, with the default, and then fails on its own
    terms, as a step error.
    """
    definition = run_input.definition if isinstance(run_input.definition, dict) else {}
    value = definition.get("timeout_s")
    seconds = DEFAULT_RUN_TIMEOUT_S
    if isinstance(value, bool):  # JSON true is no number of seconds
        value = None
    if isinstance(value, int | float) and 0 < value <= LONGEST_RUN_TIMEOUT_S:
        seconds = float(value)
    return timedelta(seconds=min(seconds, settings.run_timeout_max_s))


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
