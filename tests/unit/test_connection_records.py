"""Connection records as the run record keeps them: clean, bounded, annotated, readable."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from activities.connections import (
    MAX_RECORDS,
    MAX_RECORDS_BYTES,
    MAX_STEP_RECORDS,
    MAX_TEXT_CHARS,
    annotated,
    bounded,
    carried,
    clean_record,
    clean_records,
    merged,
)
from stepwell.cli.connections import line
from ui_api.runs.history import ExecutionFacts
from ui_api.runs.reader import _step_run, step_connections

KEYS = {
    "host", "port", "address", "method", "allowed", "reason", "bytes_out", "bytes_in",
    "started_at", "duration_ms", "attempt",
}  # fmt: skip


def record(host: str = "api.github.com", **fields: Any) -> dict[str, Any]:
    return {
        "host": host, "port": 443, "address": "140.82.112.6", "method": "CONNECT",
        "allowed": True, "reason": "", "bytes_out": 10, "bytes_in": 20,
        "started_at": "2026-11-30T12:00:00Z", "duration_ms": 3, **fields,
    }  # fmt: skip


def test_a_proxy_record_keeps_its_fields() -> None:
    assert clean_record(record()) == {**record(), "attempt": 0}


@pytest.mark.parametrize(
    "odd",
    [
        {},
        {"host": 7, "port": "443", "address": 1, "allowed": "yes", "bytes_out": -5,
         "bytes_in": math.nan, "duration_ms": True, "started_at": None, "item": -1},
        {"host": "h" * 10_000, "reason": "\udce9" * 5, "extra": {"nested": [1]}},
    ],
)  # fmt: skip
def test_any_record_becomes_the_known_keys_with_their_types(odd: dict[str, Any]) -> None:
    clean = clean_record(odd)
    assert set(clean) == KEYS
    assert all(isinstance(clean[k], str) for k in ("host", "method", "reason", "started_at"))
    assert all(len(clean[k]) <= MAX_TEXT_CHARS for k in ("host", "reason"))
    assert all(
        type(clean[k]) is int and clean[k] >= 0
        for k in ("port", "bytes_out", "bytes_in", "duration_ms", "attempt")
    )
    assert clean["address"] is None or isinstance(clean["address"], str)
    assert clean["allowed"] is False


@pytest.mark.parametrize("value", [None, "text", {"a": 1}, 3, [1, "x", None]])
def test_anything_but_a_list_of_objects_gives_no_records(value: Any) -> None:
    assert clean_records(value) == []


def test_records_are_bounded() -> None:
    assert len(clean_records([record()] * (MAX_RECORDS + 50))) == MAX_RECORDS
    many = [clean_record(record(f"h{i}.example.com")) for i in range(MAX_RECORDS + 9)]
    kept = bounded(many)
    assert len(kept) == MAX_RECORDS
    assert kept[-1]["host"] == "*" and kept[-1]["reason"] == "10 more connections not recorded"
    assert kept[-2]["host"] == f"h{MAX_RECORDS - 2}.example.com"
    assert bounded(many[:MAX_RECORDS]) == many[:MAX_RECORDS]


def test_records_are_bounded_in_bytes_too() -> None:
    wide = "\x01" * MAX_TEXT_CHARS  # six bytes each in JSON
    hostile = [clean_record(record(wide, reason=wide, method=wide)) for _ in range(100)]
    kept = bounded(hostile)
    assert len(json.dumps(kept)) <= MAX_RECORDS_BYTES
    assert 10 < len(kept) < 100
    assert kept[-1]["reason"] == f"{100 - len(kept) + 1} more connections not recorded"


def test_annotation_keeps_an_attempt_already_set_and_adds_the_item() -> None:
    done = annotated([record(attempt=2), record()], attempt=3, item=4)
    assert [(r["attempt"], r["item"]) for r in done] == [(2, 4), (3, 4)]


def test_merging_keeps_the_first_and_counts_the_rest() -> None:
    kept, dropped = merged([record("a")] * 3, [record("b")] * 4, 2, 5)
    assert [r["host"] for r in kept] == ["a", "a", "a", "b", "b"] and dropped == 4
    wide = clean_record(record("\x01" * MAX_TEXT_CHARS, reason="\x01" * MAX_TEXT_CHARS))
    kept, dropped = merged([], [wide] * MAX_STEP_RECORDS, 0, MAX_STEP_RECORDS)
    assert len(json.dumps(kept)) <= MAX_RECORDS_BYTES
    assert 10 < len(kept) < MAX_STEP_RECORDS and dropped == MAX_STEP_RECORDS - len(kept)


@pytest.mark.parametrize(
    ("details", "hosts"),
    [
        (None, []),
        ([], []),
        (["text"], []),
        ([{"log_tail": "x"}], []),
        ([{"log_tail": "x", "connections": [record("a", attempt=1)]}], ["a"]),
        (({"connections": "nonsense"},), []),
    ],
)
def test_records_carried_from_an_earlier_attempt(details: Any, hosts: list[str]) -> None:
    assert [r["host"] for r in carried(details)] == hosts


def _execution(execution_id: str, minute: int, records: Any, attempt: int = 1) -> ExecutionFacts:
    at = datetime(2026, 11, 30, 12, tzinfo=UTC) + timedelta(minutes=minute)
    return ExecutionFacts(
        activity_id=f"{execution_id}-{minute}",
        execution_id=execution_id,
        scheduled_at=at,
        attempt=attempt,
        connections=clean_records(records),
    )


def test_a_step_reads_every_activity_in_order_with_items_and_attempts() -> None:
    executions = [
        _execution("each[1]", 1, [record("b")]),
        _execution("each[0]", 1, [record("a", attempt=1), record("a2", attempt=2)], attempt=2),
        _execution("each[0]", 0, [record("first")]),  # before an infrastructure retry
    ]
    records, dropped = step_connections(executions)
    assert [(r["host"], r["attempt"], r["item"]) for r in records] == [
        ("first", 1, 0), ("a", 1, 0), ("a2", 2, 0), ("b", 1, 1),
    ]  # fmt: skip
    assert dropped == 0


def test_a_step_keeps_at_most_its_limit_and_counts_the_rest() -> None:
    executions = [_execution(f"each[{i}]", 0, [record()] * 150) for i in range(3)]
    records, dropped = step_connections(executions)
    assert len(records) == MAX_STEP_RECORDS and dropped == 450 - MAX_STEP_RECORDS
    step = _step_run({"connections": records, "connections_not_recorded": dropped}, [])
    assert len(step.connections) == MAX_STEP_RECORDS
    assert step.connections_not_recorded == 450 - MAX_STEP_RECORDS


def test_a_state_without_records_or_with_odd_ones_reads_as_none() -> None:
    assert _step_run({}, []).connections == []
    odd = _step_run({"connections": [{"host": "\ud800x", "port": "x"}, 5]}, [])
    assert [c.port for c in odd.connections] == [0]
    odd.model_dump_json()  # answerable: a lone surrogate is escaped, never a 500


def test_the_cli_line_names_target_address_outcome_and_bytes() -> None:
    assert line(record(attempt=1)) == (
        "attempt 1: api.github.com:443 (140.82.112.6) allowed, 10 B out, 20 B in"
    )
    refused = record("2001:db8::1", port=80, address=None, allowed=False, reason="ULA", item=3)
    assert line({**refused, "attempt": 2}, "fetch") == (
        "fetch[3] attempt 2: [2001:db8::1]:80 (no address) refused: ULA, 10 B out, 20 B in"
    )
    cut = record(reason="byte cap reached", attempt=1)
    assert "allowed, then byte cap reached" in line(cut)
