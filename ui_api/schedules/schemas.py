"""Request and response bodies of the schedules routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ui_api.schedules import rules as schedule_rules

NEXT_FIRES = 5

_CRON = Field(
    default=None,
    max_length=200,
    description="5-field cron expression: minute hour day-of-month month day-of-week "
    "(names like MON or JAN allowed), e.g. `0 9 * * 1-5`, read as classic cron: when both "
    "day fields are restricted, a day matching either fires (`0 9 1 * MON`: every Monday and "
    "every 1st). Give this or `interval_s`.",
    examples=["0 9 * * 1-5"],
)
_INTERVAL = Field(
    default=None,
    description=f"Fire every this many seconds ({schedule_rules.MIN_INTERVAL_S} to "
    f"{schedule_rules.MAX_INTERVAL_S}), counted from when the schedule was created. Give this "
    "or `cron`.",
    examples=[3600],
)
_TIMEZONE_DOC = "IANA time zone the cron expression is read in, e.g. `Europe/Berlin`."
_NOTE_DOC = "Free text for people, e.g. why it exists."
_TIMEZONE = Field(default="UTC", max_length=64, description=_TIMEZONE_DOC)
_PAYLOAD = Field(
    default=None,
    description="The trigger every run of this schedule gets (`{{ trigger... }}` in the flow); "
    f"JSON, at most {schedule_rules.MAX_PAYLOAD_BYTES} bytes.",
)
_NOTE = Field(default="", max_length=500, description=_NOTE_DOC)
_OVERLAP_DOC = (
    "What a fire does while this schedule's previous run is still going: `skip` it (counted "
    "in `fires_skipped`), `buffer_one` (run once the previous run ends; further fires are "
    "skipped), `buffer_all` (run each in turn), `cancel_other` or `terminate_other` (end the "
    "previous run, then start), `allow_all` (runs overlap)."
)


class ScheduleCreate(BaseModel):
    """A new schedule: exactly one of `cron` and `interval_s`."""

    model_config = ConfigDict(extra="forbid")

    cron: str | None = _CRON
    interval_s: int | None = _INTERVAL
    timezone: str = _TIMEZONE
    payload: Any = _PAYLOAD
    note: str = _NOTE
    paused: bool = Field(default=False, description="Create it paused.")
    overlap: schedule_rules.OverlapName = Field(
        default=schedule_rules.DEFAULT_OVERLAP, description=_OVERLAP_DOC
    )


class ScheduleChange(BaseModel):
    """Fields to change; those left out keep their value. Setting `cron` drops the interval
    and vice versa. Pause and resume have their own endpoints."""

    model_config = ConfigDict(extra="forbid")

    cron: str | None = _CRON
    interval_s: int | None = _INTERVAL
    timezone: str | None = Field(default=None, max_length=64, description=_TIMEZONE_DOC)
    payload: Any = _PAYLOAD
    note: str | None = Field(default=None, max_length=500, description=_NOTE_DOC)
    overlap: schedule_rules.OverlapName | None = Field(default=None, description=_OVERLAP_DOC)


class ScheduleOut(BaseModel):
    id: str = Field(description="the schedule's id, also its Temporal Schedule id")
    flow_id: str
    cron: str | None
    interval_s: int | None
    timezone: str
    payload: Any
    note: str
    paused: bool = Field(description="paused by the user (pause/resume)")
    overlap: str = Field(description=_OVERLAP_DOC)
    active: bool = Field(description="fires now: not paused and the flow is enabled")
    run_id_prefix: str = Field(description="runs it starts have ids starting with this")
    created_at: datetime


class ScheduledRun(BaseModel):
    run_id: str = Field(description="the run (Temporal workflow) id")
    scheduled_at: datetime
    started_at: datetime


class ScheduleDetail(ScheduleOut):
    next_fire_times: list[datetime] = Field(
        description=f"the next {NEXT_FIRES} times it fires (empty while paused)"
    )
    recent_runs: list[ScheduledRun] = Field(description="latest runs it started, oldest first")
    runs_started: int = Field(description="how many runs it has started in all")
    running_runs: list[str] = Field(description="ids of its runs that are still going")
    fires_skipped: int = Field(
        description="fires dropped because an earlier run was still going (overlap policy)"
    )
    fires_missed: int = Field(
        description="fires dropped because Temporal was unreachable for longer than the "
        "catch-up window (5 minutes) around their time"
    )


class Triggered(BaseModel):
    schedule_id: str
    run_id_prefix: str = Field(description="the new run's id starts with this; see recent_runs")
