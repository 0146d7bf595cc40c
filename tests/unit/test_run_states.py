"""Step states rebuilt from a run's history facts (no server): truthful once the run ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ui_api.runs.history import ExecutionFacts, HistoryFacts
from ui_api.runs.reader import step_states

AT = datetime(2026, 1, 1, tzinfo=UTC)


def execution(activity_id: str, execution_id: str, outcome: str, **facts: Any) -> ExecutionFacts:
    at = AT + timedelta(seconds=int(activity_id))
    done = at + timedelta(seconds=1) if outcome not in ("running", "scheduled") else None
    return ExecutionFacts(
        activity_id, execution_id, at, started_at=at, finished_at=done,
        attempt=facts.pop("attempt", 1), outcome=outcome, **facts,
    )  # fmt: skip


def facts_of(rows: list[ExecutionFacts], ids: list[str], **outcome: Any) -> HistoryFacts:
    facts = HistoryFacts(run_input={"definition": {"steps": [{"id": i} for i in ids]}}, **outcome)
    facts.executions = {row.activity_id: row for row in rows}
    return facts


SANDBOX = {"type": "SandboxError", "message": "cannot reach the Docker engine"}


def test_an_execution_run_again_after_an_infrastructure_failure_counts_its_last_outcome() -> None:
    rows = [
        execution("1", "a", "failed", error=SANDBOX),
        execution("2", "a", "failed", error=SANDBOX),
        execution("3", "a", "succeeded", attempt=2, result={"output": 7}),
        execution("4", "each[0]", "failed", error=SANDBOX),
        execution("5", "each[0]", "succeeded", result={"output": "x"}),
    ]
    states = step_states(facts_of(rows, ["a", "each"]), None)
    assert states["a"]["status"] == "succeeded" and states["a"]["output"] == 7
    assert states["a"]["infra_retries"] == 2 and states["a"]["attempts"] == 2
    assert states["each"]["status"] == "succeeded" and states["each"]["output"] == ["x"]
    assert states["each"]["infra_retries"] == 1


def test_in_an_ended_run_no_step_is_pending_or_running() -> None:
    rows = [
        execution("1", "bad", "failed", error={"type": "StepError", "message": "no"}, attempt=2),
        execution("2", "each[0]", "running"),
        execution("3", "each[1]", "scheduled", attempt=0),
    ]
    ended = facts_of(rows, ["bad", "each", "later"], error={"type": "FlowFailed", "message": "x"})
    states = step_states(ended, None)
    assert states["bad"]["status"] == "failed" and states["bad"]["attempts"] == 2
    assert states["each"]["status"] == "cancelled" and states["each"]["attempts"] == 1
    assert states["later"] == {"status": "not_started"}
    # while the run is still running, the same facts mean running and pending
    live = step_states(facts_of(rows, ["bad", "each", "later"]), None)
    assert live["each"]["status"] == "running" and live["later"] == {"status": "pending"}
