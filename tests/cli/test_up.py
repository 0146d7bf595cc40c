"""``stepwell up`` as a process: it all starts, the example webhook runs, Ctrl-C stops it all."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from stepwell.bootstrap import EXAMPLE_INPUT

pytestmark = [pytest.mark.temporal, pytest.mark.docker]
STEPWELL = str(Path(sys.executable).parent / "stepwell")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _read_until(stream: asyncio.StreamReader, marker: str, seen: list[str]) -> None:
    while True:
        line = (await stream.readline()).decode()
        if not line:
            raise AssertionError("stepwell up exited early:\n" + "".join(seen))
        seen.append(line)
        if marker in line:
            return


async def test_up_serves_the_api_seeds_examples_and_stops_on_ctrl_c(
    tmp_path: Path, base_image: str
) -> None:
    api_port, temporal_port, ui_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "STEPWELL_HOME": str(tmp_path / "home"),
        "STEPWELL_API_PORT": str(api_port),
        "STEPWELL_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "STEPWELL_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "STEPWELL_TEMPORAL_UI_URL": f"http://127.0.0.1:{ui_port}",
        "COLUMNS": "300",
    }
    process = await asyncio.create_subprocess_exec(
        STEPWELL, "up", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        await asyncio.wait_for(_read_until(process.stdout, "Ctrl-C stops everything", seen), 180)
        summary = "".join(seen)
        assert "warning" not in summary, summary
        key = re.search(r"API key\s+(sw_\S+)", summary)
        hook = re.search(r"curl -X POST (\S+)", summary)
        assert key and hook, summary
        assert f"http://127.0.0.1:{ui_port}" in summary

        headers = {"Authorization": f"Bearer {key.group(1)}"}
        async with httpx.AsyncClient(timeout=30) as http:
            fired = await http.post(hook.group(1), json=EXAMPLE_INPUT)
            assert fired.status_code == 202, fired.text
            run_url = f"http://127.0.0.1:{api_port}/v1/runs/{fired.json()['run_id']}"
            for _ in range(600):
                run = (await http.get(run_url, headers=headers)).json()
                if run["status"] != "running":
                    break
                await asyncio.sleep(0.1)
            assert run["status"] == "succeeded", run
            assert run["output"]["company"] == "acme-corp"
            health = await http.get(f"http://127.0.0.1:{api_port}/healthz")
            assert health.json()["status"] == "ok"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(process.stdout.read(), 60)
        code = await asyncio.wait_for(process.wait(), 60)
    assert code == 0, "".join(seen) + rest.decode()
    assert "stopped" in rest.decode()
