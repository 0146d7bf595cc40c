"""What the proxy records about each connection attempt, and the per-lease log of them.

A record is reported to the worker as a JSON object (``ConnectionRecord.as_json``)::

    {"host": "api.github.com", "port": 443, "address": "140.82.121.6", "method": "CONNECT",
     "allowed": true, "reason": "", "bytes_out": 517, "bytes_in": 4120,
     "started_at": "2026-11-30T12:00:00.123Z", "duration_ms": 84}

``host`` is the normalized host the step asked for (``step_sdk.egress.normalize_host``), or the
raw text (cut to 255 characters) when it is not a host; ``port`` is 0 when none was given.
``address`` is the address the proxy connected to (or the first it refused), ``null`` when it never
got that far. ``allowed`` says the egress rules and the address checks let the connection through;
``reason`` is ``""`` when it was allowed and ended normally, otherwise why it was refused, failed
(connect timeout, connection refused) or was cut (byte cap, lease closed or expired). ``bytes_out``
counts bytes sent to the remote host, ``bytes_in`` bytes received from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_RECORDS = 200
MAX_REFUSED_RECORDS = 50
MAX_SUMMARIES = 16
MAX_TEXT = 255


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def printable(text: str) -> str:
    """``text`` safe to log and report: control characters replaced, at most 255 characters."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text[:MAX_TEXT])
    return cleaned


@dataclass
class ConnectionRecord:
    """One connection attempt on a lease socket; filled in while the connection runs."""

    host: str = ""
    port: int = 0
    address: str | None = None
    method: str = ""
    allowed: bool = False
    reason: str = ""
    bytes_out: int = 0
    bytes_in: int = 0
    started_at: str = field(default_factory=_now_iso)
    _started: float = field(default_factory=time.monotonic, repr=False)
    duration_ms: int = 0

    def finish(self) -> None:
        self.duration_ms = max(0, round((time.monotonic() - self._started) * 1000))

    def as_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "address": self.address,
            "method": self.method,
            "allowed": self.allowed,
            "reason": self.reason,
            "bytes_out": self.bytes_out,
            "bytes_in": self.bytes_in,
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
        }


class RecordLog:
    """A lease's records, bounded, with nothing that moved data left unattributed.

    Up to :data:`MAX_RECORDS` records are kept one by one, of which at most
    :data:`MAX_REFUSED_RECORDS` refused ones: a step cannot push the record of an allowed
    connection out of view with a flood of refused attempts. Beyond that, connections are
    counted in summaries, each a record whose ``reason`` says how many it stands for
    (``"N more connections not recorded one by one"``) and whose bytes are their totals:
    allowed ones per host and port (at most :data:`MAX_SUMMARIES`, then one ``"*"`` summary),
    refused ones in one ``"*"`` summary. So the log of an execution has at most
    ``MAX_RECORDS + MAX_SUMMARIES + 2`` entries.
    """

    def __init__(self) -> None:
        self._records: list[ConnectionRecord] = []
        self._refused_kept = 0
        self._summaries: dict[tuple[str, int, bool], _Summary] = {}

    def add(self, record: ConnectionRecord) -> None:
        room = len(self._records) < MAX_RECORDS
        if room and (record.allowed or self._refused_kept < MAX_REFUSED_RECORDS):
            self._records.append(record)
            self._refused_kept += not record.allowed
            return
        key = (record.host, record.port, True) if record.allowed else ("*", 0, False)
        allowed_keys = sum(1 for k in self._summaries if k[2] and k[0] != "*")
        if key not in self._summaries and record.allowed and allowed_keys >= MAX_SUMMARIES:
            key = ("*", 0, True)
        summary = self._summaries.setdefault(key, _Summary(started_at=record.started_at))
        summary.count += 1
        summary.bytes_out += record.bytes_out
        summary.bytes_in += record.bytes_in

    def as_json(self) -> list[dict[str, Any]]:
        """The records in the order the connections ended, then the summaries."""
        out = [record.as_json() for record in self._records]
        for (host, port, allowed), summary in self._summaries.items():
            out.append(
                {
                    "host": host,
                    "port": port,
                    "address": None,
                    "method": "",
                    "allowed": allowed,
                    "reason": f"{summary.count} more connections not recorded one by one",
                    "bytes_out": summary.bytes_out,
                    "bytes_in": summary.bytes_in,
                    "started_at": summary.started_at,
                    "duration_ms": 0,
                }
            )
        return out


@dataclass
class _Summary:
    started_at: str
    count: int = 0
    bytes_out: int = 0
    bytes_in: int = 0
