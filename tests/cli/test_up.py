"""``stepwell up`` as a process: it all starts, the example webhook runs, Ctrl-C stops it all;
after ``kill -9`` nothing of it stays; a taken port is refused on the console."""

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
from stepwell.processes import listener_of

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


def up_env(home: Path, api_port: int, temporal_port: int, ui_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "STEPWELL_HOME": str(home),
        "STEPWELL_API_PORT": str(api_port),
        "STEPWELL_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "STEPWELL_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "STEPWELL_TEMPORAL_UI_URL": f"http://127.0.0.1:{ui_port}",
        "COLUMNS": "300",
    }


def children(pid: int) -> list[tuple[int, str]]:
    """``(pid, command name)`` of the live child processes of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, parent = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(parent) == pid and state != "Z":
            found.append((int(entry.name), name))
    return found


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def test_up_serves_the_api_seeds_examples_and_stops_on_ctrl_c(
    tmp_path: Path, base_image: str
) -> None:
    api_port, temporal_port, ui_port = free_port(), free_port(), free_port()
    env = up_env(tmp_path / "home", api_port, temporal_port, ui_port)
    process = await asyncio.create_subprocess_exec(
        STEPWELL, "up", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        await asyncio.wait_for(_read_until(process.stdout, "Ctrl-C stops everything", seen), 180)
        summary = "".join(seen)
        assert "warning" not in summary, summary
        console = f"console      http://127.0.0.1:{api_port}/  (sign in with the API key below)"
        lines = summary.splitlines()  # the summary's first line, after any log line
        assert console in lines and lines[lines.index(console) + 1].startswith("API "), summary
        # the default egress setting (declared) does not take http.request's "*"; chat.notify's
        # explicit host is fine
        assert "11 example steps pushed" in summary, summary
        assert "flows        new-lead, order-report" in summary, summary
        assert "warm pools   2 started containers per pool" in summary, summary
        skipped = "not pushed: http.request@1.0.0 (egress *, *:80: not allowed by STEPWELL_EGRESS)"
        assert skipped in summary, summary
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


async def test_killing_up_with_sigkill_takes_its_temporal_dev_server_down(
    tmp_path: Path, base_image: str
) -> None:
    temporal_port = free_port()
    env = up_env(tmp_path / "home", free_port(), temporal_port, free_port())
    process = await asyncio.create_subprocess_exec(
        STEPWELL, "up", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        await asyncio.wait_for(_read_until(process.stdout, "Ctrl-C stops everything", seen), 180)
        servers = [pid for pid, name in children(process.pid) if name == "temporal"]
        assert len(servers) == 1, (children(process.pid), "".join(seen))
    finally:
        process.kill()  # SIGKILL: stepwell up gets no chance to stop anything itself
        await process.wait()
    for _ in range(100):
        if not is_alive(servers[0]):
            break
        await asyncio.sleep(0.1)
    assert not is_alive(servers[0]), "the Temporal dev server outlived stepwell up"
    # Nothing listens on its port any more. (Whether the port can be bound at once is another
    # matter: any process's outgoing connection may be using the number as its local port.)
    assert listener_of(temporal_port) is None


@pytest.mark.parametrize("taken", ["temporal", "ui", "api"])
async def test_up_refuses_a_port_already_taken_and_says_so_on_the_console(
    tmp_path: Path, taken: str
) -> None:
    ports = {"api": free_port(), "temporal": free_port(), "ui": free_port()}
    env = up_env(tmp_path / "home", ports["api"], ports["temporal"], ports["ui"])
    with socket.socket() as squatter:  # e.g. a Temporal server this stepwell up did not start
        squatter.bind(("127.0.0.1", ports[taken]))
        squatter.listen()
        process = await asyncio.create_subprocess_exec(
            STEPWELL, "up", env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(process.communicate(), 60)
    text = output.decode()
    assert process.returncode == 1, text
    assert f"127.0.0.1:{ports[taken]}" in text
    assert f"is in use by pid {os.getpid()}" in text  # the process holding it, by name
    setting = {"api": "STEPWELL_API_PORT", "temporal": "STEPWELL_TEMPORAL_ADDRESS",
               "ui": "STEPWELL_TEMPORAL_UI_URL"}[taken]  # fmt: skip
    assert setting in text
    assert "Traceback" not in text
    assert not (tmp_path / "home" / "temporal.db").exists(), "a dev server was started"


async def test_up_reports_a_dev_server_that_stops_while_starting_on_the_console(
    tmp_path: Path, base_image: str
) -> None:
    home = tmp_path / "home"
    (home / "temporal.db").mkdir(parents=True)  # the server cannot open its database
    env = up_env(home, free_port(), free_port(), free_port())
    process = await asyncio.create_subprocess_exec(
        STEPWELL, "up", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), 50)  # not the 60 s wait
    text = output.decode()
    assert process.returncode == 1, text
    assert "the Temporal dev server exited with code" in text
    assert "unable to open database file" in text  # the end of temporal.log, on the console
    assert "Traceback" not in text
