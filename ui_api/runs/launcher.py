"""Starting runs: freeze a flow version and its steps into a ``FlowRun`` input, start it once.

Manual starts, webhooks and schedules all come through here. A run's id is its Temporal
workflow id; a caller that passes a deterministic id (an idempotency key) gets at most one run
for it, because Temporal refuses a second workflow with the same id.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.common import RawValue, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from stepwell_settings import Settings
from ui_api.columns import new_id
from ui_api.errors import ApiError
from ui_api.flows.models import Flow, FlowVersion
from ui_api.runs import search_attributes
from ui_api.steps.catalog import WorkspaceCatalog
from ui_api.temporal_rpc import RPC_TIMEOUT
from workflows.definition import LONGEST_RUN_TIMEOUT_S, FlowDefinition, run_timeout_s
from workflows.types import FLOW_RUN, FlowRunInput, ResolvedStep

TRIGGERS = ("manual", "webhook", "schedule", "rerun")


@dataclass(frozen=True)
class Started:
    run_id: str
    created: bool  # False: an earlier request with the same id already started it


def new_run_id() -> str:
    return new_id("run")


@dataclass(frozen=True)
class FrozenVersion:
    """A flow version as every run of it starts: its definition and its steps' digests and
    manifests, and both as the JSON members of Temporal's payload (encoded once)."""

    definition: dict[str, Any]
    steps: dict[str, ResolvedStep]
    encoded: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        members = {
            "definition": self.definition,
            "steps": {k: asdict(v) for k, v in self.steps.items()},
        }
        text = json.dumps(members, separators=(",", ":"), sort_keys=True, allow_nan=False)
        object.__setattr__(self, "encoded", text[1:-1].encode())


class FrozenSteps:
    """Flow versions frozen for runs, remembered (least recently used first out).

    A flow version and a pushed step version are both immutable, so a flow version always
    freezes to the same definition, digests and manifests: starting a run from memory spares it
    the definition's validation and the catalogue's queries. Thread-safe (transactions run on
    worker threads)."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str, int], FrozenVersion] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, int]) -> FrozenVersion | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str, int], frozen: FrozenVersion) -> None:
        with self._lock:
            self._items[key] = frozen
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def flow_run_input(
    session: Session,
    settings: Settings,
    flow: Flow,
    version: FlowVersion | int,
    trigger: Any,
    frozen: FrozenSteps | None = None,
) -> FlowRunInput:
    """Everything the run needs, with each step's bundle digest and manifest frozen
    (remembered in ``frozen`` when given). ``version`` is the row, or its number (read only when
    ``frozen`` does not hold it).

    Raises:
        ApiError: 409 when the version or a step it uses is missing in the flow's workspace.
    """
    number = version if isinstance(version, int) else version.version
    key = (flow.workspace_id, flow.id, number)
    found = frozen.get(key) if frozen is not None else None
    if found is None:
        row = version if isinstance(version, FlowVersion) else _version_row(session, flow, number)
        found = FrozenVersion(row.definition, _freeze(session, flow, row))
        if frozen is not None:
            frozen.put(key, found)
    return FlowRunInput(
        definition=found.definition,
        steps=found.steps,
        trigger=trigger,
        workspace_id=flow.workspace_id,
        flow_id=flow.id,
        flow_version=number,
        heartbeat_timeout_s=settings.heartbeat_timeout_s,
    )


def _version_row(session: Session, flow: Flow, number: int) -> FlowVersion:
    row = session.exec(
        select(FlowVersion).where(FlowVersion.flow_id == flow.id, FlowVersion.version == number)
    ).first()
    if row is None:
        raise ApiError(409, f"flow {flow.id!r} has no version {number}")
    return row


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
    stored: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):  # JSON true is no number
        stored = float(value) if 0 < value <= LONGEST_RUN_TIMEOUT_S else None
    return timedelta(seconds=run_timeout_s(stored, settings.run_timeout_max_s))


async def start_run(
    temporal: Client,
    settings: Settings,
    run_input: FlowRunInput,
    *,
    trigger_kind: str,
    run_id: str | None = None,
    frozen: FrozenSteps | None = None,
) -> Started:
    """Start the run; with a ``run_id`` that was used before, return that run instead.

    With ``frozen`` holding the run's flow version, the version's part of the input is not
    encoded again (see :func:`input_payload`).
    """
    run_id = run_id or new_run_id()
    try:
        await temporal.start_workflow(
            FLOW_RUN,
            input_payload(run_input, frozen),
            id=run_id,
            task_queue=settings.task_queue,
            execution_timeout=run_timeout(settings, run_input),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search_attributes.for_run(
                run_input.workspace_id, run_input.flow_id, run_input.flow_version, trigger_kind
            ),
            rpc_timeout=RPC_TIMEOUT,
        )
    except WorkflowAlreadyStartedError:
        return Started(run_id, created=False)
    return Started(run_id, created=True)


def input_payload(run_input: FlowRunInput, frozen: FrozenSteps | None) -> RawValue | FlowRunInput:
    """The run input as Temporal's JSON payload, with the flow version's part (definition,
    manifests, schemas: most of its bytes) taken as ``FrozenVersion`` encoded it once. Any other
    input (not from ``frozen``, or a trigger JSON cannot carry) goes to Temporal's converter."""
    key = (run_input.workspace_id, run_input.flow_id, run_input.flow_version)
    found = frozen.get(key) if frozen is not None else None
    if found is None or found.encoded is None or found.steps is not run_input.steps:
        return run_input
    rest = {
        item.name: getattr(run_input, item.name)
        for item in fields(run_input)
        if item.name not in ("definition", "steps")
    }
    try:
        text = json.dumps(rest, separators=(",", ":"), sort_keys=True, allow_nan=False)
        data = b"{" + found.encoded + b"," + text[1:].encode()
    except (ValueError, UnicodeEncodeError):
        return run_input
    return RawValue(Payload(metadata={"encoding": b"json/plain"}, data=data))
