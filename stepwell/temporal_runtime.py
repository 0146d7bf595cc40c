"""Running a command's async main with a Temporal runtime it owns, shut down before it returns.

temporalio's Rust core runs its own threads (a Tokio pool). When an RPC finishes, one of them takes
the GIL to hand the result to asyncio. With the SDK's default runtime (a module global) those
threads live until the interpreter finalizes, and a thread still inside that hand-over when the
main thread starts finalizing is killed half-way and aborts the whole process after the command
has done its work: ``Fatal Python error: PyGILState_Release`` and exit code 134. A runtime owned
by the command and released while Python is still alive joins those threads first (dropping the
last reference to the core runtime shuts its Tokio pool down and waits for it).
"""

from __future__ import annotations

import asyncio
import gc
import traceback
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.runtime import Runtime, TelemetryConfig

T = TypeVar("T")


def run_with_runtime(main: Callable[[Runtime], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(main(runtime))`` with a fresh Temporal runtime, shut down before returning.

    Every Temporal client the coroutine makes must be connected with ``runtime=runtime``
    (see :func:`connect`) and must not be kept after the coroutine ends. Exceptions (including
    ``typer.Exit``) propagate unchanged, after their traceback frames have been cleared so
    they do not keep clients (and with them the runtime) alive.
    """
    runtime = Runtime(telemetry=TelemetryConfig())
    try:
        return asyncio.run(main(runtime))
    except BaseException as exc:
        _clear_frames(exc)
        raise
    finally:
        del runtime
        # Clients sit in reference cycles (tasks, futures): collect them now, so that the
        # last reference to the core runtime goes here, in a live interpreter.
        gc.collect()


def _clear_frames(exc: BaseException) -> None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__


async def connect(address: str, namespace: str, runtime: Runtime | None) -> Client:
    """Connect a Temporal client on ``runtime`` (the SDK's default when ``None``).

    Raises:
        RuntimeError: Temporal did not answer.
    """
    return await Client.connect(address, namespace=namespace, runtime=runtime)
