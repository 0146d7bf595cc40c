"""``stepwell api``: the HTTP API on its own (for deployments with separate workers)."""

from __future__ import annotations

import logging

import typer
from temporalio.runtime import Runtime

from activities.bundles import BundleStoreError
from stepwell.api_server import prepare, uvicorn_server
from stepwell.cli.output import err, fail
from stepwell.platform import wait_for_temporal
from stepwell.processes import port_problem
from stepwell.temporal_runtime import run_with_runtime
from stepwell_settings import Settings
from ui_api.secrets.crypto import InsecureSecretKey

log = logging.getLogger("stepwell.api")


def api(
    host: str | None = typer.Option(
        None, "--host", help="Address to listen on [default: STEPWELL_API_HOST or 127.0.0.1]"
    ),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="Port [default: STEPWELL_API_PORT or 8000]"
    ),
    wait_s: float = typer.Option(
        60, "--wait-for-temporal", min=0, help="Seconds to wait for Temporal to answer"
    ),
) -> None:
    """Serve the HTTP API until SIGTERM or Ctrl-C.

    Temporal is STEPWELL_TEMPORAL_ADDRESS; the command waits for it to answer, then fails
    with exit code 1 if it never does.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    # only what was given overrides the environment (STEPWELL_API_HOST/PORT)
    overrides = {"api_host": host, "api_port": port}
    settings = Settings.model_validate(
        {name: value for name, value in overrides.items() if value is not None}
    )
    try:
        run_with_runtime(lambda runtime: _serve(settings, wait_s, runtime))
    except (InsecureSecretKey, BundleStoreError) as exc:
        fail(str(exc), code=1)
    except KeyboardInterrupt:
        pass


async def _serve(settings: Settings, wait_s: float, runtime: Runtime) -> None:
    if problem := port_problem(settings.api_host, settings.api_port):
        fail(
            f"the API cannot listen on {settings.api_host}:{settings.api_port}: it {problem}; "
            "stop that, or choose another --port",
            code=1,
        )
    address = f"{settings.temporal_address} (namespace {settings.temporal_namespace!r})"
    err.print(f"waiting for Temporal at {address}, up to {wait_s:g} s", soft_wrap=True)
    try:
        temporal = await wait_for_temporal(settings, wait_s, runtime=runtime)
    except RuntimeError as exc:
        fail(f"Temporal at {address} did not answer within {wait_s:g} s: {exc}", code=1)
    services = await prepare(settings, temporal)
    log.warning("API on http://%s:%s (docs at /docs)", settings.api_host, settings.api_port)
    await uvicorn_server(services).serve()
