"""Connection records of step executions: bounded, typed, and annotated for the run record.

The egress proxy records each connection attempt of an execution (``docs/egress.md``)::

    {"host", "port", "address", "method", "allowed", "reason", "bytes_out", "bytes_in",
     "started_at", "duration_ms"}

and the run record adds ``attempt`` (the step attempt that made it) and, for a ``foreach``
item, ``item`` (its index). Records cross Temporal in activity results and failure details,
so everything that carries or reads them goes through :func:`clean_records`: a known set of
keys with JSON types, strings cut to :data:`MAX_TEXT_CHARS`, at most :data:`MAX_RECORDS`
records. Whatever a record held, reading it back cannot fail.

Standard library only: the workflow imports this inside Temporal's workflow sandbox.
"""

from __future__ import annotations

import json
from typing import Any

# The proxy reports at most 200 records per execution plus up to 18 summaries of the rest
# (sandbox/egress/records.py): all of one execution always fit.
MAX_RECORDS = 220
# What a step's record keeps over all its executions (attempts, foreach items): the first
# ones (all of a first execution), the rest only counted.
MAX_STEP_RECORDS = 220
MAX_TEXT_CHARS = 300
_TEXT = ("host", "method", "reason", "started_at")
_COUNTS = ("port", "bytes_out", "bytes_in", "duration_ms", "attempt")


def _text(value: Any) -> str:
    return value[:MAX_TEXT_CHARS] if isinstance(value, str) else ""


def _count(value: Any) -> int:
    # bool is an int subclass, and a float may be NaN: neither is a count
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def clean_record(record: dict[str, Any]) -> dict[str, Any]:
    """One record with exactly the known keys and their types (missing or odd values become
    empty strings, zeros, ``None`` or ``False``)."""
    clean: dict[str, Any] = {key: _text(record.get(key)) for key in _TEXT}
    clean.update({key: _count(record.get(key)) for key in _COUNTS})
    address = record.get("address")
    clean["address"] = _text(address) if isinstance(address, str) else None
    clean["allowed"] = record.get("allowed") is True
    item = record.get("item")
    if isinstance(item, int) and not isinstance(item, bool) and item >= 0:
        clean["item"] = item
    return clean


def clean_records(records: Any, limit: int = MAX_RECORDS) -> list[dict[str, Any]]:
    """At most ``limit`` clean records from ``records`` (anything else than a list of objects
    gives the objects it holds, or none)."""
    if not isinstance(records, list):
        return []
    return [clean_record(r) for r in records if isinstance(r, dict)][:limit]


def annotated(
    records: Any, *, attempt: int | None = None, item: int | None = None
) -> list[dict[str, Any]]:
    """Clean records with the attempt (unless they carry one) and the foreach item set; all
    of them (callers bound the list: :func:`bounded`, :func:`merged`)."""
    result = []
    for record in clean_records(records, len(records) if isinstance(records, list) else 0):
        if attempt is not None and not record["attempt"]:
            record["attempt"] = attempt
        if item is not None:
            record["item"] = item
        result.append(record)
    return result


def summary(not_recorded: int) -> dict[str, Any]:
    """The record that stands for connections left out of a list."""
    return clean_record({"host": "*", "reason": f"{not_recorded} more connections not recorded"})


def merged(
    kept: list[dict[str, Any]],
    new: list[dict[str, Any]],
    dropped: int,
    limit: int,
    max_bytes: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """``kept`` followed by as many of ``new`` as fit in ``limit`` records (and ``max_bytes``
    of JSON, default :data:`MAX_RECORDS_BYTES`), and how many were left out in all (``dropped``
    so far plus those of ``new`` that did not fit)."""
    budget = (MAX_RECORDS_BYTES if max_bytes is None else max_bytes) - len(json.dumps(kept))
    room = max(limit - len(kept), 0)
    taken = 0
    while taken < min(room, len(new)):
        size = len(json.dumps(new[taken])) + 1
        if size > budget:
            break
        budget -= size
        taken += 1
    return [*kept, *new[:taken]], dropped + len(new) - taken


def carried(heartbeat_details: Any) -> list[dict[str, Any]]:
    """Records of earlier attempts of the same activity, from the heartbeat details Temporal
    hands to a retry (the failed attempt heartbeated them before it failed)."""
    if not heartbeat_details:
        return []
    details = heartbeat_details[0] if isinstance(heartbeat_details, list | tuple) else None
    return clean_records(details.get("connections")) if isinstance(details, dict) else []


# What the records of one execution may take, encoded: with the output (at most 1536 KiB) and
# logs (64 KiB) they stay under Temporal's payload limit, in a reply or in a failure's details.
MAX_RECORDS_BYTES = 256 * 1024


def bounded(
    records: list[dict[str, Any]], limit: int = MAX_RECORDS, max_bytes: int = MAX_RECORDS_BYTES
) -> list[dict[str, Any]]:
    """``records`` if there are at most ``limit`` and their JSON fits in ``max_bytes``; else the
    longest prefix that fits with a summary of the rest (normal records are ~250 bytes: only
    hostile text gets near the byte bound)."""
    sizes = [len(json.dumps(record)) + 1 for record in records]
    if len(records) <= limit and sum(sizes) <= max_bytes:
        return records
    budget = max_bytes - len(json.dumps(summary(len(records)))) - 1
    kept = 0
    while kept < min(len(records), limit - 1) and sizes[kept] <= budget:
        budget -= sizes[kept]
        kept += 1
    return [*records[:kept], summary(len(records) - kept)]
