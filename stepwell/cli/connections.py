"""How the CLI shows a step's network connections (``run show``, ``step run``): one line each,
so that long host names and reasons stay whole in any terminal width."""

from __future__ import annotations

from typing import Any

from stepwell.cli.output import out


def target(record: dict[str, Any]) -> str:
    """``host:port`` (an IPv6 literal in brackets)."""
    host = str(record.get("host") or "?")
    if ":" in host:
        host = f"[{host}]"
    port = record.get("port")
    return f"{host}:{port}" if port else host


def outcome(record: dict[str, Any]) -> str:
    """``allowed``, ``allowed, then <why it was cut>``, or ``refused: <why>``."""
    reason = str(record.get("reason") or "")
    if record.get("allowed"):
        return f"allowed, then {reason}" if reason else "allowed"
    return f"refused: {reason}" if reason else "refused"


def line(record: dict[str, Any], step: str = "") -> str:
    """``[step[item] ]attempt N: host:port (address) outcome, X B out, Y B in``."""
    item = record.get("item")
    where = f"{step}[{item}] " if step and item is not None else f"{step} " if step else ""
    address = record.get("address") or "no address"
    return (
        f"{where}attempt {record.get('attempt') or '?'}: {target(record)} ({address}) "
        f"{outcome(record)}, {record.get('bytes_out', 0)} B out, {record.get('bytes_in', 0)} B in"
    )


def show(records: list[tuple[str, dict[str, Any]]]) -> None:
    """Print ``connections:`` and one line per ``(step id, record)`` (step id may be empty)."""
    if not records:
        return
    out.print("connections:")
    for step, record in records:
        # plain text: a host name or reason comes from the step and may hold "[...]" markup
        out.print("  " + line(record, step), markup=False, highlight=False, soft_wrap=True)
