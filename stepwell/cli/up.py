"""``stepwell up``: the whole platform on one machine, stopped cleanly with Ctrl-C.

One process runs the API and a worker; the Temporal dev server (with its web UI) runs beside it
as a child process with its data in ``<home>/temporal.db``. The child dies with this process,
even after ``kill -9``; a port that is already taken (say, by a Temporal server this command
did not start) is refused with a message on the console.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import signal
import subprocess

import httpx
from temporalio.runtime import Runtime

from activities.bundles import BundleStoreError
from sandbox.base_images import RUNTIMES, base_builder
from sandbox.errors import ImageBuildError
from step_sdk.runtimes import PYTHON_BROWSER
from stepwell.api_server import prepare, uvicorn_server
from stepwell.bootstrap import EXAMPLE_INPUT, Seeded, development_key, seed_examples
from stepwell.cli.docker_client import connect
from stepwell.cli.output import err, fail, out
from stepwell.platform import (
    DevServerError,
    dev_server_port_problem,
    start_temporal_dev_server,
    wait_for_dev_server,
)
from stepwell.processes import port_problem
from stepwell.temporal_runtime import run_with_runtime
from stepwell.worker import run_worker
from stepwell_settings import Settings
from ui_api.secrets.crypto import InsecureSecretKey


def up() -> None:
    """Start Temporal (dev server, web UI), the API and a worker; print where everything is."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("stepwell.pool").setLevel(logging.INFO)  # "keeping warm: ..." as it changes
    settings = Settings()
    problem = port_problem(settings.api_host, settings.api_port)
    if problem:
        fail(
            f"the API's address {settings.api_host}:{settings.api_port} {problem} "
            "(set STEPWELL_API_PORT)",
            code=1,
        )
    problem = dev_server_port_problem(settings)
    if problem:
        fail(problem, code=1)
    client, config = connect(), settings.sandbox_config()
    for runtime in RUNTIMES:
        builder = base_builder(client, config, runtime, log=lambda m: err.print(m))
        try:
            with err.status(f"checking the {runtime} base image"):
                builder.ensure(source=settings.base_image_source)
        except ImageBuildError as exc:
            if runtime != PYTHON_BROWSER:
                fail(str(exc), code=1)
            # Optional: its first build needs root; everything else works without it.
            err.print(f"[yellow]warning:[/yellow] browser steps cannot run yet: {exc}")
    try:
        server = start_temporal_dev_server(settings)
    except DevServerError as exc:
        fail(str(exc), code=1)
    try:
        run_with_runtime(lambda runtime: _serve(settings, server, runtime))
    except (InsecureSecretKey, DevServerError, BundleStoreError) as exc:
        fail(str(exc), code=1)
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        out.print("stopped")


async def _serve(settings: Settings, server: subprocess.Popen[bytes], runtime: Runtime) -> None:
    with err.status(f"waiting for Temporal at {settings.temporal_address}"):
        temporal = await wait_for_dev_server(server, settings, runtime=runtime)
    services = await prepare(settings, temporal)
    api = uvicorn_server(services, install_signal_handlers=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    api_task = asyncio.create_task(api.serve())
    worker_task = asyncio.create_task(run_worker(settings, stop=stop, runtime=runtime))
    while not api.started:
        if api_task.done():
            fail("the API did not start; see the messages above", code=1)
        await asyncio.sleep(0.05)
    key = development_key(services)
    base = f"http://127.0.0.1:{settings.api_port}"
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as client:
        with err.status("pushing the example steps and flow"):
            seeded = await seed_examples(client)
    _print_summary(settings, key, seeded)
    await stop.wait()
    api.should_exit = True
    await asyncio.gather(api_task, worker_task)


def _print_summary(settings: Settings, key: str, seeded: Seeded) -> None:
    public = settings.public_url.rstrip("/")
    lines = [
        f"console      {public}/  (sign in with the API key below)",
        f"API          {public}  (docs: {public}/docs)",
        f"Temporal UI  {settings.temporal_ui_url}",
        f"Temporal     {settings.temporal_address} (data: {settings.home / 'temporal.db'})",
        f"worker       task queue {settings.task_queue!r}, "
        f"{settings.max_concurrent_steps} concurrent steps",
        f"warm pools   {settings.describe_pools()}",
        f"API key      {key}",
        f"             export STEPWELL_API_KEY={key}",
        f"steps        {len(seeded.steps)} example steps pushed",
    ]
    lines += [f"             not pushed: {skipped}" for skipped in seeded.skipped]
    if seeded.flows:
        lines.append(f"flows        {', '.join(seeded.flows)}")
    if seeded.webhook_url:
        body = shlex.quote(json.dumps(EXAMPLE_INPUT))
        lines += [
            "try          the example flow 'new-lead' has a webhook:",
            f"             curl -X POST {seeded.webhook_url} -H 'Content-Type: application/json' "
            f"-d {body}",
            f"             then: curl -H 'Authorization: Bearer {key}' {public}/v1/runs/<run_id>",
        ]
    lines += [f"warning      {problem}" for problem in seeded.problems]
    lines.append("Ctrl-C stops everything.")
    out.print("\n".join(lines), soft_wrap=True)
