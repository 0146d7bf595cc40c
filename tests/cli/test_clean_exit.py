"""Commands that talk to Temporal exit cleanly: no Temporal thread is left when Python finalizes.

A Temporal core thread still alive at interpreter exit aborted ``stepwell run show --json`` with
"Fatal Python error: PyGILState_Release" (exit 134) in about one run in thirty.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

pytestmark = [pytest.mark.temporal]
STEPWELL = str(Path(sys.executable).parent / "stepwell")
RUNS = 30
AT_ONCE = 3


@pytest.fixture(scope="module")
async def ended_run(temporal: WorkflowEnvironment) -> str:
    """A run that has ended (terminated), so reading it needs no worker."""
    run_id = f"run-exit-{uuid.uuid4().hex[:12]}"
    handle = await temporal.client.start_workflow(
        "FlowRun", {}, id=run_id, task_queue=f"nobody-{uuid.uuid4().hex[:8]}"
    )
    await handle.terminate("test")
    return run_id


def _env(temporal: WorkflowEnvironment, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "STEPWELL_HOME": str(tmp_path / "home"),
        "STEPWELL_TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
    }


def test_a_command_leaves_no_temporal_thread_behind_on_success_or_error(
    temporal: WorkflowEnvironment, ended_run: str
) -> None:
    # Counted in a fresh interpreter, where the main thread is the only one to begin with.
    script = textwrap.dedent(f"""
        import os, typer
        from stepwell.runs import read_run
        from stepwell.temporal_runtime import connect, run_with_runtime

        def threads():
            return len(os.listdir("/proc/self/task"))

        async def read(runtime):
            client = await connect({temporal.client.service_client.config.target_host!r},
                                   "default", runtime)
            assert threads() > 1  # the runtime's own threads are running now
            return (await read_run(client, {ended_run!r})).status

        async def read_then_fail(runtime):
            client = await connect({temporal.client.service_client.config.target_host!r},
                                   "default", runtime)
            await read_run(client, {ended_run!r})
            raise typer.Exit(3)

        print(run_with_runtime(read), threads())
        try:
            run_with_runtime(read_then_fail)
        except typer.Exit:
            print("exit", threads())
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["terminated", "1", "exit", "1"], done.stdout + done.stderr


async def test_run_show_json_exits_0_every_time(
    temporal: WorkflowEnvironment, ended_run: str, tmp_path: Path
) -> None:
    env = _env(temporal, tmp_path)
    slots = asyncio.Semaphore(AT_ONCE)

    async def show() -> tuple[int | None, str, str]:
        async with slots:
            process = await asyncio.create_subprocess_exec(
                STEPWELL, "run", "show", ended_run, "--json", env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
            return process.returncode, stdout.decode(), stderr.decode()

    results = await asyncio.gather(*(show() for _ in range(RUNS)))
    for code, stdout, stderr in results:
        assert code == 0, stderr
        assert json.loads(stdout)["status"] == "terminated"
        assert stderr == ""


async def test_run_show_says_when_temporal_cannot_be_reached(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "STEPWELL_HOME": str(tmp_path / "home"),
        "STEPWELL_TEMPORAL_ADDRESS": "127.0.0.1:9",  # the discard port: nothing answers
    }
    process = await asyncio.create_subprocess_exec(
        STEPWELL, "run", "show", "run-x", "--json", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 1, stderr.decode()
    assert "cannot reach Temporal at 127.0.0.1:9" in stderr.decode()
    assert "Traceback" not in stderr.decode()
