"""A run as Server-Sent Events: ``progress``, ``log`` and a final ``end``, polled from Temporal.

Event data is JSON:

- ``progress``: ``{"status", "steps": {id: {status, attempts, started_at, finished_at,
  duration_ms, items, error}}}``, sent whenever any of it changes (outputs and logs are not
  repeated here: ``log`` carries logs, ``GET /v1/runs/{id}`` the outputs).
- ``log``: ``{"step_id", "execution", "text", "replace"}``. While a step runs, ``text`` is
  what its log tail (sent in the step's heartbeats) gained since the last event. When the step
  ends, the rest of its final log follows; if the live text cannot be lined up with the final
  log (a retry, a ``foreach`` fan-out, a gap in a fast log), ``replace`` is true and ``text``
  is the step's whole final log, to show instead of what came before.
- ``end``: ``{"status", "output", "error"}``, then the stream closes.
- ``error``: ``{"message"}`` if Temporal cannot be reached mid-stream; the stream closes and
  the client may reconnect.

Comment lines keep idle connections open through proxies. Polling stops when the client goes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from temporalio.service import RPCError

from ui_api.encodable import dumps
from ui_api.metrics import Metrics
from ui_api.runs.history import HistoryFacts
from ui_api.runs.reader import (
    LiveTail,
    VisibleRun,
    history_facts,
    live_tails,
    query_progress,
    step_states,
)
from ui_api.runs.schemas import RunStatus
from ui_api.temporal_rpc import RPC_TIMEOUT

log = logging.getLogger("stepwell.api")

POLL_S = 1.0
KEEPALIVE_S = 15.0
KEEPALIVE = b": keep-alive\n\n"
_PROGRESS_FIELDS = ("status", "attempts", "started_at", "finished_at", "duration_ms", "items")


def sse_event(event: str, data: Any) -> bytes:
    """One event in the text/event-stream format (JSON data holds no raw newline).

    Data read back from a history can hold datetimes and values JSON cannot carry: encoding
    never fails (:func:`ui_api.encodable.dumps`), or the stream would end without its ``end``.
    """
    return f"event: {event}\ndata: {dumps(data)}\n\n".encode()


def new_text(previous: str, current: str) -> str:
    """What a rolling log tail gained: ``current`` minus its overlap with ``previous``.

    A tail is the last N characters of a growing log, so ``current`` starts with some suffix
    of ``previous``; the longest such suffix is taken as the overlap.
    """
    if current.startswith(previous):
        return current[len(previous) :]
    for start in range(1, len(previous)):
        if current.startswith(previous[start:]):
            return current[len(previous) - start :]
    return current


class RunEvents:
    """The event stream of one run, for one client."""

    def __init__(self, run: VisibleRun, *, poll_s: float = POLL_S) -> None:
        self._run = run
        self._poll_s = poll_s
        self._tails: dict[str, tuple[int, str]] = {}  # activity id -> (attempt, last tail)
        self._streamed: dict[str, str] = {}  # step id -> live text sent
        self._logged: set[str] = set()  # steps whose final log was sent
        self._progress: dict[str, Any] | None = None

    async def stream(
        self, metrics: Metrics, disconnected: Callable[[], Awaitable[bool]]
    ) -> AsyncIterator[bytes]:
        """Events until the run ends or the client disconnects."""
        metrics.event_streams.inc()
        try:
            facts = await history_facts(self._run)
            quiet_since = time.monotonic()
            while not await disconnected():
                sent = False
                facts = await self._refresh(facts)
                for chunk in await self._poll(facts):
                    sent = True
                    yield chunk
                if self._run.status != RunStatus.running:
                    yield sse_event(
                        "end",
                        {
                            "status": self._run.status.value,
                            "output": (facts.result or {}).get("output"),
                            "error": facts.error,
                        },
                    )
                    return
                if sent:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since >= KEEPALIVE_S:
                    quiet_since = time.monotonic()
                    yield KEEPALIVE
                await asyncio.sleep(self._poll_s)
        except RPCError as exc:
            # Temporal went away mid-stream: say so and close; the client may reconnect.
            message = f"lost contact with Temporal ({exc.status.name}); reconnect to resume"
            yield sse_event("error", {"message": message})
        except Exception:  # a bug must not end the stream silently, as if the run still ran
            log.exception("event stream of run %s failed", self._run.run_id)
            yield sse_event("error", {"message": "internal error; the server log has details"})
        finally:
            metrics.event_streams.dec()

    async def _refresh(self, facts: HistoryFacts) -> HistoryFacts:
        """Describe the run again; read its history again when that tells something new."""
        run = self._run
        run.description = await run.handle.describe(rpc_timeout=RPC_TIMEOUT)
        _, unknown = live_tails(run, facts)
        if unknown or run.status != RunStatus.running:
            return await history_facts(run)
        return facts

    async def _poll(self, facts: HistoryFacts) -> list[bytes]:
        running = self._run.status == RunStatus.running
        progress = await query_progress(self._run, 5) if running else None
        if running and progress is None:
            # no worker answered: the history's view may lag, but it is the truth so far
            facts = await history_facts(self._run)
        states = step_states(facts, progress)
        tails = live_tails(self._run, facts)[0] if running else []
        for tail in tails:  # a running step's attempt is only known from its activity
            state = states.get(tail.step_id)
            if state is not None and state.get("status") == "running":
                state["attempts"] = max(int(state.get("attempts") or 0), tail.attempt)
        chunks = self._live_logs(tails)
        snapshot = {
            "status": self._run.status.value,
            "steps": {
                step_id: {
                    **{key: state.get(key) for key in _PROGRESS_FIELDS},
                    "status": state.get("status") or "pending",
                    "error": _short_error(state.get("error")),
                }
                for step_id, state in states.items()
            },
        }
        if snapshot != self._progress:
            self._progress = snapshot
            chunks.append(sse_event("progress", snapshot))
        for step_id, state in states.items():
            if state.get("status") in ("succeeded", "failed") and step_id not in self._logged:
                self._logged.add(step_id)
                chunks += self._final_log(step_id, str(state.get("logs") or ""))
        return chunks

    def _live_logs(self, tails: list[LiveTail]) -> list[bytes]:
        chunks = []
        for tail in tails:
            if tail.step_id in self._logged:
                continue
            attempt, previous = self._tails.get(tail.activity_id, (tail.attempt, ""))
            if attempt != tail.attempt:
                previous = ""  # a retry starts a new log
            text = new_text(previous, tail.text)
            self._tails[tail.activity_id] = (tail.attempt, tail.text)
            if text:
                self._streamed[tail.step_id] = self._streamed.get(tail.step_id, "") + text
                chunks.append(
                    sse_event(
                        "log",
                        {
                            "step_id": tail.step_id,
                            "execution": tail.execution_id,
                            "text": text,
                            "replace": False,
                        },
                    )
                )
        return chunks

    def _final_log(self, step_id: str, final: str) -> list[bytes]:
        streamed = self._streamed.get(step_id, "")
        if final.startswith(streamed):
            text, replace = final[len(streamed) :], False
        else:
            text, replace = final, True
        if not text and not replace:
            return []
        data = {"step_id": step_id, "execution": step_id, "text": text, "replace": replace}
        return [sse_event("log", data)]


def _short_error(error: Any) -> dict[str, Any] | None:
    if not isinstance(error, dict):
        return None
    return {"type": error.get("type"), "message": error.get("message")}


async def run_event_stream(
    run: VisibleRun, metrics: Metrics, disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[bytes]:
    """The events of ``run`` (see the module docstring) until it ends or the client leaves."""
    async for chunk in RunEvents(run).stream(metrics, disconnected):
        yield chunk
