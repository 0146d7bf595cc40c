"""``stepwell api`` as a process: where it listens, what it waits for, how it gives up."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.cli.test_up import free_port

pytestmark = [pytest.mark.temporal]
STEPWELL = str(Path(sys.executable).parent / "stepwell")


def _env(tmp_path: Path, temporal_address: str) -> dict[str, str]:
    return {
        **os.environ,
        "STEPWELL_HOME": str(tmp_path / "home"),
        "STEPWELL_TEMPORAL_ADDRESS": temporal_address,
        "STEPWELL_API_PORT": "1",  # overridden by --port below; refused if it were used
        "COLUMNS": "300",
    }


async def test_api_listens_on_host_and_port_options_and_says_what_it_waits_for(
    temporal: WorkflowEnvironment, tmp_path: Path
) -> None:
    address = temporal.client.service_client.config.target_host
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        STEPWELL, "api", "--host", "127.0.0.1", "--port", str(port),
        env=_env(tmp_path, address), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(600):
                try:
                    health = await http.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.TransportError:
                    assert process.returncode is None, "stepwell api exited"
                    await asyncio.sleep(0.1)
            assert health.status_code == 200, health.text
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)  # Ctrl-C
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert f"waiting for Temporal at {address}" in stderr.decode()


async def test_api_fails_clearly_when_temporal_never_answers(tmp_path: Path) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    process = await asyncio.create_subprocess_exec(
        STEPWELL, "api", "--port", str(free_port()), "--wait-for-temporal", "2",
        env=_env(tmp_path, nobody), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    text = stderr.decode()
    assert process.returncode == 1, text
    assert f"waiting for Temporal at {nobody}" in text
    assert f"Temporal at {nobody}" in text and "did not answer within 2 s" in text
    assert "Traceback" not in text


async def test_api_refuses_a_taken_port_before_claiming_to_serve_on_it(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            STEPWELL, "api", "--port", str(port), "--wait-for-temporal", "2",
            env=_env(tmp_path, f"127.0.0.1:{free_port()}"), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    text = stderr.decode()
    assert process.returncode == 1, text
    assert f"cannot listen on 127.0.0.1:{port}: it is in use" in text
    assert "API on" not in text and "Traceback" not in text
