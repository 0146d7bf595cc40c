"""`stepwell flow run` gives the run its flow's timeout and refuses one above the maximum."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.flows.conftest import REPO
from tests.flows.test_worker_process import STEPWELL, worker_env

pytestmark = pytest.mark.temporal


async def _flow_run(env: dict[str, str], flow: Path, steps: Path) -> tuple[int, str]:
    run = await asyncio.create_subprocess_exec(
        STEPWELL, "flow", "run", str(flow), "--steps", str(steps), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(run.communicate(), 60)
    assert run.returncode is not None
    return run.returncode, stdout.decode() + stderr.decode()


async def test_flow_run_sets_the_flows_timeout_and_refuses_one_above_the_maximum(
    temporal: WorkflowEnvironment, tmp_path: Path
) -> None:
    steps = tmp_path / "steps"
    shutil.copytree(REPO / "examples" / "steps" / "slugify", steps / "slugify")
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps({
        "name": "timed", "timeout_s": 45,
        "steps": [{"id": "a", "uses": "text.slugify@1.0.0", "with": {"text": "x"}}],
    }))  # fmt: skip
    env = worker_env(temporal, tmp_path / "home", "no-worker-here")

    code, text = await _flow_run(env, flow, steps)
    assert code == 0, text
    run_id = next(word for word in text.split() if word.startswith("run-"))
    handle = temporal.client.get_workflow_handle(run_id)
    described = await handle.describe()
    config = described.raw_description.execution_config
    assert config.workflow_execution_timeout.ToTimedelta() == timedelta(seconds=45)
    await handle.terminate("test done")  # no worker polls this queue

    code, text = await _flow_run({**env, "STEPWELL_RUN_TIMEOUT_MAX_S": "30"}, flow, steps)
    assert code == 1
    assert "/timeout_s" in text and "above this server's longest run of 30 s" in text
