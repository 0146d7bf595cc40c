"""What a schedule may say: a 5-field cron expression or an interval, and an IANA time zone.

Checked here, before Temporal sees them, so each mistake gets a message naming the field.
Temporal validates the spec again when the schedule is created; the callers in
``ui_api.schedules.service`` map what it still refuses to the same kind of error.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import datetime
from functools import cache
from typing import Any, Literal, get_args

from temporalio.client import ScheduleOverlapPolicy

from step_sdk.errors import Problem

# Shorter intervals would keep a worker slot busy with one flow around the clock and fill
# Temporal's history with runs nobody reads; a step that must poll faster can loop itself.
MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 366 * 24 * 3600
MAX_PAYLOAD_BYTES = 64 * 1024  # stored in the schedule and copied into every run's history

OverlapName = Literal[
    "skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"
]
# What a fire does while the schedule's previous run is still going, by the name users give.
OVERLAP: dict[str, ScheduleOverlapPolicy] = {
    "skip": ScheduleOverlapPolicy.SKIP,  # the fire is dropped (and counted as skipped)
    "buffer_one": ScheduleOverlapPolicy.BUFFER_ONE,  # one fire waits for the run to end
    "buffer_all": ScheduleOverlapPolicy.BUFFER_ALL,  # every fire waits, in order
    "cancel_other": ScheduleOverlapPolicy.CANCEL_OTHER,  # the running run is cancelled
    "terminate_other": ScheduleOverlapPolicy.TERMINATE_OTHER,  # ... or terminated
    "allow_all": ScheduleOverlapPolicy.ALLOW_ALL,  # runs overlap freely
}
DEFAULT_OVERLAP: OverlapName = "skip"
assert set(OVERLAP) == set(get_args(OverlapName))

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class _Field:
    def __init__(self, name: str, low: int, high: int, names: tuple[str, ...] = ()) -> None:
        self.name = name
        self.low = low
        self.high = high
        # Names map to numbers from ``low`` upwards (jan=1, sun=0).
        self.names = {n: low + i for i, n in enumerate(names)}

    def value(self, text: str) -> int:
        if text.lower() in self.names:
            return self.names[text.lower()]
        if not text.isdigit():
            raise ValueError(f"{text!r} is not a number")
        number = int(text)
        if not self.low <= number <= self.high:
            raise ValueError(f"{number} is outside {self.low}-{self.high}")
        return number


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day of week", 0, 7, _DAYS),  # 0 and 7 are both Sunday
)
_ITEM = re.compile(r"^(?P<range>\*|[^-/]+(?:-[^-/]+)?)(?:/(?P<step>\d+))?$")


def _check_item(field: _Field, item: str) -> None:
    match = _ITEM.match(item)
    if match is None:
        raise ValueError(f"{item!r} is not '*', N, N-M or one of those followed by /STEP")
    if match["step"] is not None and int(match["step"]) == 0:
        raise ValueError(f"{item!r} has a step of 0")
    if match["range"] == "*":
        return
    low, _, high = match["range"].partition("-")
    first = field.value(low)
    if high and field.value(high) < first:
        raise ValueError(f"{item!r} is a range that runs backwards")


def cron_problem(cron: str) -> str | None:
    """Why ``cron`` is not a 5-field cron expression (minute hour day month weekday), or None."""
    fields = cron.split()
    if len(fields) != len(_FIELDS):
        return (
            f"needs 5 fields (minute hour day-of-month month day-of-week), "
            f"e.g. '0 9 * * 1-5'; found {len(fields)}"
        )
    for field, text in zip(_FIELDS, fields, strict=True):
        for item in text.split(","):
            try:
                _check_item(field, item)
            except ValueError as exc:
                return f"{field.name} field {text!r}: {exc}"
    return None


def classic_cron(cron: str) -> list[str]:
    """Cron expressions for Temporal that together fire exactly when classic (Vixie) cron fires.

    Classic cron fires on a day that matches the day-of-month field *or* the day-of-week field
    when both are restricted (neither starts with ``*``), and Temporal requires both to match;
    so such an expression becomes two, one per day field, whose fire times Temporal unites.
    ``cron`` must be valid (``cron_problem`` is None).
    """
    minute, hour, day_of_month, month, day_of_week = cron.split()
    if day_of_month.startswith("*") or day_of_week.startswith("*"):
        return [" ".join((minute, hour, day_of_month, month, day_of_week))]
    return [
        " ".join((minute, hour, day_of_month, month, "*")),
        " ".join((minute, hour, "*", month, day_of_week)),
    ]


def interval_offset_s(interval_s: int, created_at: datetime) -> int:
    """The phase that makes an interval count from ``created_at`` (an aware datetime) instead
    of from the Unix epoch, which Temporal counts intervals from: fires happen at
    ``created_at + k * interval_s`` for k = 1, 2, ..."""
    return int(created_at.timestamp()) % interval_s


# tzdata files that are not places: the server's own zone, and a placeholder.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def _time_zones() -> frozenset[str]:
    return (frozenset(zoneinfo.available_timezones()) | {"UTC"}) - _NOT_ZONES


def timezone_problem(name: str) -> str | None:
    """Why ``name`` is not an IANA time zone name, or None."""
    if name in _time_zones():
        return None
    return f"{name!r} is not an IANA time zone name (e.g. 'UTC', 'Europe/Berlin')"


def interval_problem(seconds: int) -> str | None:
    if seconds < MIN_INTERVAL_S:
        return (
            f"is {seconds} s; the shortest interval is {MIN_INTERVAL_S} s, because shorter ones "
            "would keep a worker busy with one flow around the clock (a step that must poll "
            "faster can loop itself)"
        )
    if seconds > MAX_INTERVAL_S:
        return f"is {seconds} s; the longest interval is {MAX_INTERVAL_S} s (366 days)"
    return None


def text_problem(text: str) -> str | None:
    """Text the databases cannot store: NUL characters, lone UTF-16 surrogates."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired UTF-16 surrogate (not valid Unicode text)"
    return None


def payload_problem(payload: Any) -> str | None:
    """Why the payload cannot be a schedule's trigger (too large, or not storable text)."""
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    problem = text_problem(encoded)
    if problem is not None:
        return problem
    size = len(encoded.encode())
    if size > MAX_PAYLOAD_BYTES:
        return f"is {size} bytes as JSON; the limit is {MAX_PAYLOAD_BYTES}"
    return None


def spec_problems(
    cron: str | None, interval_s: int | None, timezone: str, *, prefix: str = ""
) -> list[Problem]:
    """Everything wrong with a schedule's timing, with pointers under ``prefix``."""
    problems = []
    if (cron is None) == (interval_s is None):
        message = "give exactly one of 'cron' and 'interval_s'"
        problems.append(Problem(f"{prefix}/cron", message))
    if cron is not None and (reason := cron_problem(cron)):
        problems.append(Problem(f"{prefix}/cron", reason))
    if interval_s is not None and (reason := interval_problem(interval_s)):
        problems.append(Problem(f"{prefix}/interval_s", reason))
    if reason := timezone_problem(timezone):
        problems.append(Problem(f"{prefix}/timezone", reason))
    return problems
