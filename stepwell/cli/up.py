"""``stepwell up``: the whole platform on one machine, stopped cleanly with Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import subprocess

from sandbox.errors import ImageBuildError
from sandbox.images import ImageBuilder
from stepwell.cli.docker_client import connect
from stepwell.cli.output import err, fail, out
from stepwell.platform import start_temporal_dev_server, wait_for_temporal
from stepwell.settings import Settings
from stepwell.worker import run_worker


def up() -> None:
    """Start Temporal (dev server, web UI), a worker, and print where everything is."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    settings = Settings()
    builder = ImageBuilder(connect(), settings.sandbox_config(), log=lambda m: err.print(m))
    try:
        with err.status("checking the base image"):
            builder.ensure(source=settings.base_image_source)
    except ImageBuildError as exc:
        fail(str(exc), code=1)
    server = start_temporal_dev_server(settings)
    try:
        asyncio.run(_serve(settings))
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        out.print("stopped")


async def _serve(settings: Settings) -> None:
    with err.status("waiting for Temporal"):
        await wait_for_temporal(settings)
    out.print(
        f"Temporal     {settings.temporal_address} (data: {settings.home / 'temporal.db'})\n"
        f"Temporal UI  {settings.temporal_ui_url}\n"
        f"worker       task queue {settings.task_queue!r}, "
        f"{settings.max_concurrent_steps} concurrent steps\n"
        "try          stepwell flow run examples/flows/lead.json --steps examples/steps "
        '--input \'{"company": "ACME Corp", "values": [40, 70, 90]}\' --follow\n'
        "Ctrl-C stops everything."
    )
    await run_worker(settings)
