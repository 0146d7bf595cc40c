"""Which worker did what, read from Temporal: who ran each activity of a run (its history's
``ActivityTaskStarted`` identity) and who is running one right now (a pending activity's
``last_worker_identity``). A Stepwell worker's Temporal identity is its owner id."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC

from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client


@dataclass(frozen=True)
class Started:
    """One ``ActivityTaskStarted`` event: the identity of the worker and the attempt number
    (Temporal records the last attempt's start only, with its number)."""

    identity: str
    attempt: int
    at: float  # Unix time (s) the attempt started


async def activity_starts(client: Client, run_id: str) -> list[Started]:
    """Every activity start in the run's history, in order."""
    found = []
    async for event in client.get_workflow_handle(run_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            at = event.event_time.ToDatetime(tzinfo=UTC).timestamp()
            found.append(Started(started.identity, started.attempt, at))
    return found


async def spread(client: Client, run_ids: list[str]) -> Counter[str]:
    """How many activities each identity ran over these runs."""
    counts: Counter[str] = Counter()
    for run_id in run_ids:
        counts.update(start.identity for start in await activity_starts(client, run_id))
    return counts


async def running_on(client: Client, run_id: str) -> list[str]:
    """Identities of the workers running one of the run's activities right now."""
    described = await client.get_workflow_handle(run_id).describe()
    return [
        pending.last_worker_identity
        for pending in described.raw_description.pending_activities
        if pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    ]
