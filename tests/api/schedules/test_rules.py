"""Schedule rules without any server: cron, time zones, intervals, Temporal's refusals."""

from __future__ import annotations

import pytest
from temporalio.service import RPCError, RPCStatusCode

from ui_api.errors import ApiError
from ui_api.schedules.rules import cron_problem, interval_problem, timezone_problem
from ui_api.schedules.service import temporal_errors

pytestmark = pytest.mark.temporal


@pytest.mark.parametrize(
    ("cron", "fragment"),
    [
        ("0 9 * *", "needs 5 fields"),
        ("0 0 9 * * 1-5", "found 6"),
        ("@daily", "found 1"),
        ("61 * * * *", "minute field '61': 61 is outside 0-59"),
        ("* 24 * * *", "outside 0-23"),
        ("* * 0 * *", "outside 1-31"),
        ("*/0 * * * *", "step of 0"),
        ("5-1 * * * *", "runs backwards"),
        ("* * * foo *", "'foo' is not a number"),
        ("* * * * 1-5/x", "is not '*'"),
        ("CRON_TZ=UTC 0 * * *", "is not a number"),
    ],
)
def test_bad_cron_expressions_are_explained(cron: str, fragment: str) -> None:
    problem = cron_problem(cron)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize(
    "cron", ["0 9 * * 1-5", "*/15 * * * *", "0 0 1 jan,jul *", "30 6 * * MON-FRI", "0 0 * * 7"]
)
def test_good_cron_expressions_pass(cron: str) -> None:
    assert cron_problem(cron) is None


def test_time_zones_and_intervals_are_checked() -> None:
    assert timezone_problem("Europe/Berlin") is None and timezone_problem("UTC") is None
    assert timezone_problem("Mars/Olympus") is not None
    assert timezone_problem("../../etc/passwd") is not None
    assert timezone_problem("localtime") is not None  # the server's zone, not a place
    assert "shortest interval is 60 s, because" in (interval_problem(59) or "")
    assert interval_problem(60) is None and interval_problem(10**12) is not None


def test_temporal_refusals_become_422_and_its_absence_503() -> None:
    with pytest.raises(ApiError) as caught, temporal_errors():
        raise RPCError("invalid time zone name", RPCStatusCode.INVALID_ARGUMENT, b"")
    assert caught.value.status == 422
    assert [p.pointer for p in caught.value.details] == ["/timezone"]
    with pytest.raises(ApiError) as caught, temporal_errors():
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
    assert caught.value.status == 503 and "connection refused" in caught.value.message
