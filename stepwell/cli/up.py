"""``stepwell up``: the whole platform on one machine, stopped cleanly with Ctrl-C.

One process runs the API and a worker; the Temporal dev server (with its web UI) runs beside it
as a child process with its data in ``<home>/temporal.db``.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import shlex
import signal
import socket
import subprocess

import httpx

from sandbox.errors import ImageBuildError
from sandbox.images import ImageBuilder
from stepwell.bootstrap import EXAMPLE_INPUT, Seeded, development_key, seed_examples
from stepwell.cli.docker_client import connect
from stepwell.cli.output import err, fail, out
from stepwell.platform import start_temporal_dev_server, wait_for_temporal
from stepwell.settings import Settings
from stepwell.worker import run_worker
from ui_api.crypto import InsecureSecretKey
from ui_api.server import prepare, uvicorn_server


def up() -> None:
    """Start Temporal (dev server, web UI), the API and a worker; print where everything is."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    settings = Settings()
    _check_port(settings.api_host, settings.api_port)
    builder = ImageBuilder(connect(), settings.sandbox_config(), log=lambda m: err.print(m))
    try:
        with err.status("checking the base image"):
            builder.ensure(source=settings.base_image_source)
    except ImageBuildError as exc:
        fail(str(exc), code=1)
    server = start_temporal_dev_server(settings)
    try:
        asyncio.run(_serve(settings))
    except InsecureSecretKey as exc:
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


def _check_port(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "is in use" if exc.errno == errno.EADDRINUSE else f"fails: {exc.strerror}"
            fail(f"the API's address {host}:{port} {reason} (set STEPWELL_API_PORT)", code=1)


async def _serve(settings: Settings) -> None:
    with err.status("waiting for Temporal"):
        temporal = await wait_for_temporal(settings)
    services = await prepare(settings, temporal)
    api = uvicorn_server(services, install_signal_handlers=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    api_task = asyncio.create_task(api.serve())
    worker_task = asyncio.create_task(run_worker(settings, stop=stop))
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
        f"API          {public}  (docs: {public}/docs)",
        f"Temporal UI  {settings.temporal_ui_url}",
        f"Temporal     {settings.temporal_address} (data: {settings.home / 'temporal.db'})",
        f"worker       task queue {settings.task_queue!r}, "
        f"{settings.max_concurrent_steps} concurrent steps",
        f"API key      {key}",
        f"             export STEPWELL_API_KEY={key}",
        f"steps        {len(seeded.steps)} example steps pushed",
    ]
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
