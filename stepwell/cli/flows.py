"""``stepwell worker``, ``stepwell flow run`` and ``stepwell run show``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from temporalio.client import Client, WorkflowFailureError
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from activities.bundle_store import check_bundle_store, open_bundle_store
from activities.bundles import BundleStore, BundleStoreError
from stepwell.cli import connections
from stepwell.cli.output import fail, out, parse_json_option, print_json, user_errors
from stepwell.database_check import DatabaseUnusable
from stepwell.leases import LeaseLost
from stepwell.local_steps import LocalSteps, load_local_steps
from stepwell.runs import RunView, read_run
from stepwell.temporal_runtime import connect, run_with_runtime
from stepwell.worker import run_worker
from stepwell_settings import Settings
from ui_api.artifacts.service import artifact_url
from ui_api.db import create_engine, migrate
from ui_api.secrets.crypto import InsecureSecretKey
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, PROGRESS_QUERY, FlowRunInput, FlowRunOutput
from workflows.validation import validate_flow

flow_app = typer.Typer(help="Run flows.", no_args_is_help=True)
run_app = typer.Typer(help="Inspect runs.", no_args_is_help=True)
_COLOURS = {"succeeded": "green", "failed": "red", "running": "yellow", "skipped": "dim"}


def worker() -> None:
    """Run a worker: poll Temporal for flows and steps until SIGTERM/Ctrl-C.

    Steps receive the workspace secrets they declare from the API's database
    (STEPWELL_DATABASE_URL, decrypted with STEPWELL_SECRET_KEY: use the API's values).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        settings = Settings()
        if settings.database_url is None:
            logging.getLogger("stepwell.worker").warning(
                "this worker uses the SQLite file %s (STEPWELL_DATABASE_URL is not set): it only "
                "serves an API that uses that same file; set STEPWELL_DATABASE_URL to the API's "
                "database otherwise",
                settings.home.resolve() / "stepwell.db",
            )
        run_with_runtime(lambda runtime: run_worker(settings, runtime=runtime))
    except (InsecureSecretKey, LeaseLost, BundleStoreError, DatabaseUnusable) as exc:
        fail(str(exc), code=1)


async def _connect(settings: Settings, runtime: Runtime) -> Client:
    try:
        return await connect(settings.temporal_address, settings.temporal_namespace, runtime)
    except RuntimeError as exc:
        fail(f"cannot reach Temporal at {settings.temporal_address}: {exc}", code=1)


@flow_app.command("run")
def run_flow(
    definition_file: Path = typer.Argument(..., help="Flow definition (JSON)"),
    steps: Path = typer.Option(..., "--steps", help="Directory of step directories or bundles"),
    input_: str = typer.Option("{}", "--input", "-i", help="Trigger payload: JSON or @file"),
    follow: bool = typer.Option(False, "--follow", "-f", help="Show progress until it ends"),
) -> None:
    """Validate a flow against local steps and start a run (a worker must be running)."""
    settings = Settings()
    document = parse_json_option(f"@{definition_file}", "FILE")
    trigger = parse_json_option(input_, "--input")
    if not steps.is_dir():
        fail(f"--steps {steps}: not a directory")
    with user_errors():
        local = LocalSteps(load_local_steps(steps), _bundle_store(settings))
    problems = validate_flow(document, local.catalog, max_run_timeout_s=settings.run_timeout_max_s)
    if problems:
        for problem in problems:
            out.print(
                f"[red]{escape(problem.pointer or '/')}[/red]: {escape(problem.message)}",
                soft_wrap=True,
            )
        fail(f"{definition_file} has {len(problems)} problem(s)", code=1)
    definition = FlowDefinition.model_validate(document)
    try:
        resolved = local.resolve(definition)  # puts the bundles into the store workers read
    except BundleStoreError as exc:
        fail(str(exc), code=1)
    request = FlowRunInput(
        definition=definition.document(),
        steps=resolved,
        trigger=trigger,
        heartbeat_timeout_s=settings.heartbeat_timeout_s,
    )
    timeout = timedelta(seconds=definition.run_timeout_s(settings.run_timeout_max_s))
    code = run_with_runtime(lambda runtime: _start(settings, request, timeout, follow, runtime))
    raise typer.Exit(code)


def _bundle_store(settings: Settings) -> BundleStore:
    """The configured store the workers read (with no API started yet, the database store's
    table is created here: the schema is migrated as the API would)."""
    try:
        if settings.bundle_store == "database":
            engine = create_engine(settings.database)
            migrate(engine)
            return open_bundle_store(settings, engine)
        store = open_bundle_store(settings)
        check_bundle_store(store)
        return store
    except BundleStoreError as exc:
        fail(str(exc), code=1)


async def _start(
    settings: Settings, request: FlowRunInput, timeout: timedelta, follow: bool, runtime: Runtime
) -> int:
    client = await _connect(settings, runtime)
    run_id = f"run-{uuid.uuid4().hex[:16]}"
    handle = await client.start_workflow(
        FLOW_RUN,
        request,
        id=run_id,
        task_queue=settings.task_queue,
        execution_timeout=timeout,
        result_type=FlowRunOutput,
    )
    ui = f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows/{run_id}"
    out.print(f"started {run_id}\n{ui}")
    if not follow:
        return 0
    with Live(_progress_table({}), console=out, refresh_per_second=4) as live:
        result_task = asyncio.ensure_future(handle.result())
        while not result_task.done():
            with contextlib.suppress(RPCError):  # the first workflow task has not run yet
                live.update(_progress_table(await handle.query(PROGRESS_QUERY)))
            await asyncio.wait([result_task], timeout=0.5)
        try:
            result: FlowRunOutput = result_task.result()
        except WorkflowFailureError as exc:
            live.update(_progress_table(await handle.query(PROGRESS_QUERY)))
            live.stop()
            out.print(f"[red]failed[/red]: {escape(str(exc.cause))}")
            return 1
        live.update(_progress_table({"steps": {k: vars(v) for k, v in result.steps.items()}}))
    out.print()
    print_json(result.output)
    return 0


def _progress_table(progress: dict[str, Any]) -> Table:
    table = Table("step", "status", "attempts", "duration", "detail")
    for step_id, state in (progress.get("steps") or {}).items():
        status = state.get("status", "")
        colour = _COLOURS.get(status, "white")
        error = state.get("error") or {}
        detail = f"{error.get('type')}: {error.get('message')}" if error else ""
        if state.get("items") is not None:
            detail = f"{state['items']} items " + detail
        duration = f"{state.get('duration_ms', 0)} ms" if state.get("duration_ms") else ""
        # Step ids, errors and outputs come from steps and flows: plain Text, never markup.
        table.add_row(
            Text(step_id), Text(status, style=colour), str(state.get("attempts") or ""),
            duration, Text(detail[:120]),
        )  # fmt: skip
    return table


@run_app.command("show")
def show(
    run_id: str = typer.Argument(..., help="The run id (its Temporal workflow id)"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """Print a run's timeline (each step, attempts, the worker that ran its latest attempt,
    duration, outcome) read from Temporal."""
    settings = Settings()
    view = run_with_runtime(lambda runtime: _read(settings, run_id, runtime))
    if as_json:
        print_json(_as_document(view))
        return
    out.print(f"{view.run_id}: {view.status}", markup=False)
    table = Table("step", "attempts", "worker", "started", "duration", "outcome")
    for execution in view.executions:
        started = execution.started_at.strftime("%H:%M:%S.%f")[:-3] if execution.started_at else ""
        duration = f"{execution.duration_ms} ms" if execution.duration_ms is not None else ""
        outcome = execution.outcome + (f" ({execution.error})" if execution.error else "")
        # A step's error text (and a foreach item's id) are the step's words: plain Text.
        table.add_row(Text(execution.step_id), str(execution.attempts), Text(execution.worker),
                      started, duration, Text(outcome))  # fmt: skip
    out.print(table)
    connections.show(
        [
            (execution.step_id.split("[", 1)[0], record)
            for execution in view.executions
            for record in execution.connections
        ]
    )
    _show_artifacts(settings, view)
    if view.error:
        out.print(Text(view.error, style="red"))
    elif view.status == "succeeded":
        # A step's output may hold "[...]" (a redaction marker, Rich markup): print it as it is.
        out.print(json.dumps(view.output, indent=2, ensure_ascii=False), markup=False)


def _show_artifacts(settings: Settings, view: RunView) -> None:
    """The files the steps saved, with where the API serves them (same API key)."""
    rows = [(e.step_id, a) for e in view.executions for a in e.artifacts]
    if not rows:
        return
    table = Table("#", "step", "artifact", "type", "size")
    urls = []
    for number, (step_id, artifact) in enumerate(rows, 1):
        urls.append(
            settings.public_url.rstrip("/")
            + artifact_url(view.run_id, step_id, str(artifact["name"]))
        )
        # names and types are the step's words: plain Text
        name, kind = Text(str(artifact["name"])), Text(str(artifact["content_type"]))
        table.add_row(str(number), Text(step_id), name, kind, f"{artifact['size_bytes']} B")
    out.print(table)
    # Each download URL on its own line, never wrapped or cut whatever the terminal's width,
    # so it can be copied whole.
    for number, url in enumerate(urls, 1):
        out.print(Text(f"#{number} download: {url}"), soft_wrap=True, overflow="ignore", crop=False)


async def _read(settings: Settings, run_id: str, runtime: Runtime) -> RunView:
    client = await _connect(settings, runtime)
    try:
        return await read_run(client, run_id)
    except RPCError as exc:
        fail(f"run {run_id}: {exc.message}", code=1)


def _as_document(view: RunView) -> dict[str, Any]:
    return {
        "run_id": view.run_id,
        "status": view.status,
        "output": view.output,
        "error": view.error or None,
        "steps": [
            {"step_id": e.step_id, "attempts": e.attempts, "duration_ms": e.duration_ms,
             "outcome": e.outcome, "error": e.error or None, "worker": e.worker or None,
             "connections": e.connections, "artifacts": e.artifacts}
            for e in view.executions
        ],
    }  # fmt: skip
