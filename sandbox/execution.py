"""Watching one handed-over container to its end: the streams, the deadline, the exit facts.

The envelope goes in (the handoff, when the deadline starts), stdout and stderr come out capped,
the container is killed at the deadline, on cancellation or on a flood, and the exit code and
OOM flag come from Docker, never from the container. The caller removes the container.

An execution ends at its result: once a complete frame and the runner's end marker on stderr
(``sandbox.log_end``) are in, the host has everything the step produced and kills the container
at once rather than wait for the engine to report its exit (about five sixths of a warm
execution, docs/pools.md). Its exit code is then unknown (``None``): the step was over, and
whatever the process did after writing its result cannot change it. Without both (a step that
never finishes, is killed, or exits without a result) the exit facts come from Docker as before.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from docker import APIClient
from docker.errors import APIError, NotFound
from requests.exceptions import RequestException

from sandbox.artifacts import ArtifactChannel
from sandbox.config import SandboxConfig
from sandbox.containers import StartedContainer
from sandbox.errors import ErrorType, SandboxError
from sandbox.log_end import EndMarker
from sandbox.oom import oom_kills
from sandbox.outcome import Observation, classify
from sandbox.result import StepFailure, StepResult
from sandbox.streams import STDERR, STDOUT, CappedBuffer
from step_sdk.manifest import Limits

# Receives the step's raw log bytes as they arrive (see sandbox.log_tail.LiveTail).
LogSink = Callable[[bytes], None]
# The frame wraps the output in a few bytes of JSON; allow for them on top of the output cap.
_FRAME_OVERHEAD = 64 * 1024
_POLL_S = 0.25


class StepCancelled(SandboxError):
    """The execution was cancelled by the caller; its container has been removed."""


class NotReceived(SandboxError):
    """The container ended without reading its envelope: nothing of the tenant ran in it."""


def execute(
    api: APIClient,
    config: SandboxConfig,
    container: StartedContainer,
    image: str,
    payload: bytes,
    limits: Limits,
    on_log: LogSink | None,
    cancel: threading.Event | None,
) -> StepResult:
    """Hand ``payload`` to a started container and watch it to the end (the handoff).

    Raises:
        NotReceived: it ended, by itself, without reading its envelope.
    """
    container_id = container.id
    result = CappedBuffer(limits.output_kb * 1024 + _FRAME_OVERHEAD)
    logs = CappedBuffer(config.log_kb * 1024)
    flood_at = logs.cap * config.log_flood_factor
    streams = container.streams
    preamble = container.preamble
    channel = ArtifactChannel(
        config.artifact_max_count, config.artifact_max_bytes, config.artifact_total_bytes
    )
    timed_out = killed = cancelled = False
    started = time.monotonic()  # the deadline starts at handoff, however long it waited
    deadline = started + limits.timeout_s
    streams.send_and_close_stdin(payload, timeout_s=limits.timeout_s)
    # Waiting for the exit from now on, not after the stream ends, takes one engine round
    # trip off every execution's end.
    exited = _watch_exit(api, container_id, limits.timeout_s + 3 * config.kill_grace_s)
    give_up = deadline + config.kill_grace_s
    ended = container.ended
    pieces = list(container.drain())
    end = EndMarker()
    frame_complete = finished = False
    oom_count: int | None = None
    while not ended:
        for stream, data in pieces:
            if stream == STDOUT:
                data = channel.feed(preamble.feed(data))
                result.write(data)
                if data:  # the frame is one line: complete once a piece ends the line
                    frame_complete = data.endswith(b"\n")
            elif stream == STDERR:
                _log(logs, on_log, end.feed(data))
        if not killed and frame_complete and end.seen and not result.truncated:
            # Read before the kill: the kernel's count of OOM kills in the container so far,
            # whatever the step reports (a renderer or child killed while the step went on).
            oom_count = oom_kills(container_id)
            finished = killed = _kill(api, container_id)
            break
        if not killed and (result.truncated or logs.total > flood_at or channel.problem):
            killed = _kill(api, container_id)
            give_up = time.monotonic() + config.kill_grace_s
        now = time.monotonic()
        if cancel is not None and cancel.is_set() and not killed:
            cancelled = killed = _kill(api, container_id)
            give_up = now + config.kill_grace_s
        if now >= deadline and not killed:
            timed_out = killed = _kill(api, container_id)
            give_up = now + config.kill_grace_s
        if now >= give_up:
            break
        until = deadline if not killed else give_up
        chunk = streams.read(min(_POLL_S, max(0.0, until - now)))
        if chunk is None:
            pieces = []
            continue
        if not chunk:
            break
        pieces = list(container.demux.feed(chunk))
    duration_ms = int((time.monotonic() - started) * 1000)
    _log(logs, on_log, end.flush())
    streams.close()
    if cancelled:
        raise StepCancelled("the step was cancelled")
    if finished:
        # Any OOM kill of one of the step's processes (a browser's renderer, a subprocess)
        # during the execution makes it MemoryLimitExceeded, whatever the step reported: the
        # host's fact wins. The cgroup counter costs a file read; without it (cgroup files not
        # visible to this worker) Docker's flag, which it sets only at the exit, is waited for.
        exit_code = None
        if oom_count is not None:
            oom_killed = oom_count > 0
        else:
            _, oom_killed = _final_state(api, config, container_id, exited)
    else:
        exit_code, oom_killed = _final_state(api, config, container_id, exited)
    if not (preamble.received or preamble.violated or timed_out or oom_killed or killed):
        raise NotReceived(f"ended (exit code {exit_code}) before reading its envelope")
    output, failure = classify(
        Observation(
            result=result.getvalue(),
            exit_code=exit_code,
            oom_killed=oom_killed,
            timed_out=timed_out,
            result_over_cap=result.truncated,
            log_flooded=logs.total > flood_at,
            timeout_s=limits.timeout_s,
            memory_mb=limits.memory_mb,
            output_kb=limits.output_kb,
            log_kb=config.log_kb,
            max_depth=config.max_output_depth,
        )
    )
    if channel.problem and not (timed_out or oom_killed):
        kind = ErrorType.ARTIFACT_LIMIT if channel.limit_exceeded else ErrorType.OUTPUT_VALIDATION
        output, failure = None, StepFailure(kind, channel.problem)
    return StepResult(
        output=output,
        error=failure,
        artifacts=channel.artifacts,
        logs=logs.getvalue().decode("utf-8", errors="replace"),  # raw until _redacted
        logs_truncated=logs.truncated,
        result_truncated=result.truncated,
        exit_code=exit_code,
        oom_killed=oom_killed,
        timed_out=timed_out,
        duration_ms=duration_ms,
        image=image,
        container_id=container_id,
        stats={
            "log_bytes": logs.total,
            "log_dropped": logs.dropped,
            "result_bytes": result.total,
        },
    )


def _log(logs: CappedBuffer, on_log: LogSink | None, data: bytes) -> None:
    room = logs.room
    logs.write(data)
    if on_log is not None and room > 0 and data:
        on_log(data[:room])


def _kill(api: APIClient, container_id: str) -> bool:
    """SIGKILL the container without waiting: the engine only finishes the kill once its
    output is drained, so the caller must keep reading meanwhile."""

    def kill() -> None:
        with contextlib.suppress(NotFound, APIError, RequestException):
            api.kill(container_id, signal="SIGKILL")

    threading.Thread(target=kill, name="stepwell-kill", daemon=True).start()
    return True


def _watch_exit(api: APIClient, container_id: str, timeout_s: float) -> threading.Event:
    """An event set once the engine reports the container stopped (or the wait failed)."""
    exited = threading.Event()

    def wait() -> None:
        with contextlib.suppress(APIError, RequestException):
            api.wait(container_id, timeout=int(timeout_s))
        exited.set()

    threading.Thread(target=wait, name="stepwell-wait", daemon=True).start()
    return exited


def _final_state(
    api: APIClient, config: SandboxConfig, container_id: str, exited: threading.Event
) -> tuple[int | None, bool]:
    """Exit code and OOM flag, from Docker: the container's own word is never used."""
    if not exited.wait(config.kill_grace_s):
        _kill(api, container_id)
        exited.wait(config.kill_grace_s)
    state: dict[str, Any] = api.inspect_container(container_id)["State"]
    if state.get("Running"):
        return None, bool(state.get("OOMKilled"))
    return int(state.get("ExitCode", -1)), bool(state.get("OOMKilled"))
