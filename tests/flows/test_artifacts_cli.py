"""`stepwell run show` lists what each execution saved; `stepwell run artifact` downloads it.

A real worker (artifacts stored in a migrated SQLite database's bundle table) runs a foreach step
whose items each save a file; the CLI reads Temporal and the database as an operator would.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from activities.artifacts import ArtifactRecorder
from activities.bundle_db import DatabaseBundleStore
from sandbox.launcher import Sandbox
from stepwell.cli.main import app
from stepwell.local_steps import LocalSteps
from stepwell_settings import Settings
from tests.flows.conftest import inline_step, worker_queue
from ui_api.db import create_engine, migrate
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]

ITEM_SAVER = inline_step(
    "test.item_saver",
    """
    from step_sdk import StepContext, step

    @step
    def main(n: int, ctx: StepContext) -> int:
        ctx.artifacts.save("item.txt", f"item {n}".encode(), "text/plain")
        return n
    """,
)


async def test_run_show_lists_and_run_artifact_downloads(
    temporal: WorkflowEnvironment,
    sandbox: Sandbox,
    worker_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    docker_client: docker.DockerClient,
) -> None:
    url = f"sqlite:///{tmp_path / 'stepwell.db'}"
    engine = create_engine(url)
    migrate(engine)
    store = DatabaseBundleStore(engine)
    recorder = ArtifactRecorder(store, engine)
    definition: dict[str, Any] = {
        "name": "items",
        "steps": [{"id": "each", "uses": "test.item_saver@1.0.0", "foreach": "{{ trigger }}",
                   "with": {"n": "{{ item }}"}}],
    }  # fmt: skip
    parsed = FlowDefinition.model_validate(definition)
    request = FlowRunInput(
        definition=parsed.document(),
        steps=LocalSteps([ITEM_SAVER], store).resolve(parsed),
        trigger=[7, 8],
    )
    async with worker_queue(temporal, sandbox, store, worker_settings, artifacts=recorder) as q:
        handle = await temporal.client.start_workflow(
            FLOW_RUN, request, id=f"run-{uuid.uuid4().hex[:12]}", task_queue=q,
            result_type=FlowRunOutput,
        )  # fmt: skip
        await asyncio.wait_for(handle.result(), 120)
    run_id = handle.id

    monkeypatch.setenv(
        "STEPWELL_TEMPORAL_ADDRESS", temporal.client.service_client.config.target_host
    )
    monkeypatch.setenv("STEPWELL_DATABASE_URL", url)
    monkeypatch.setenv("STEPWELL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STEPWELL_PUBLIC_URL", "https://stepwell.example")
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    # at 80 columns too, each URL is whole on one line (not cut, not wrapped)
    shown = await asyncio.to_thread(
        runner.invoke, app, ["run", "show", run_id], env={"COLUMNS": "80"}
    )
    assert shown.exit_code == 0, shown.output
    for index in (0, 1):
        assert (
            f"https://stepwell.example/v1/runs/{run_id}/artifacts/each%5B{index}%5D/item.txt"
            in (shown.output)
        ), shown.output
    assert "text/plain" in shown.output

    saved = await asyncio.to_thread(
        runner.invoke, app, ["run", "artifact", run_id, "each[1]", "item.txt", "-o", "one.txt"]
    )
    assert saved.exit_code == 0, saved.output
    assert (tmp_path / "one.txt").read_bytes() == b"item 8"
    default = await asyncio.to_thread(
        runner.invoke, app, ["run", "artifact", run_id, "each[0]", "item.txt"]
    )
    assert default.exit_code == 0, default.output
    assert (tmp_path / "item.txt").read_bytes() == b"item 7"
    again = await asyncio.to_thread(
        runner.invoke, app, ["run", "artifact", run_id, "each[0]", "item.txt"]
    )
    assert again.exit_code != 0 and "exists" in again.output
    # -o never writes over a file, into a directory or through a link (a dangling one too)
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "nowhere.txt")
    for given, problem in [
        ("one.txt", "exists"),
        ("folder", "is a directory"),
        ("link", "is a symbolic link"),
        ("absent/x.txt", "folder does not exist"),
    ]:
        refused = await asyncio.to_thread(
            runner.invoke, app, ["run", "artifact", run_id, "each[0]", "item.txt", "-o", given]
        )
        assert refused.exit_code == 1 and problem in refused.output, (given, refused.output)
        assert "Traceback" not in refused.output
    assert not (tmp_path / "nowhere.txt").exists()
    assert (tmp_path / "one.txt").read_bytes() == b"item 8"
    missing = await asyncio.to_thread(
        runner.invoke, app, ["run", "artifact", run_id, "each[0]", "nope"]
    )
    assert missing.exit_code == 1 and "no artifact 'nope'" in missing.output
    engine.dispose()
