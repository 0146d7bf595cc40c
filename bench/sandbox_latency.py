"""Sandbox latency benchmark: what a step execution costs on top of starting Python.

Measured in one run, each over N runs (p50 and p95, in milliseconds), interleaved round by round
so that a change in the machine's load touches every measurement alike:

* floor         - a bare ``python3 -c pass`` subprocess on the host (by default the interpreter
  running this script, called directly: a ``python3`` found through a pyenv shim adds ~60 ms);
* baseline      - the equivalent of ``docker run --rm`` of the base image with the sandbox's
  hardening running ``python3 -c pass``, through the docker SDK's low-level API (create, start,
  wait, remove);
* pools off     - a trivial step through ``Sandbox.run`` with pools off (size 0): created,
  started and removed on the execution's critical path, as before pools existed;
* cold trivial  - a trivial step whose pool is empty, in a sandbox whose pools are on (its
  limits class has no pool): the cold path, the used container removed in the background;
* cold models   - the same for a step that imports the SDK's pydantic models;
* warm trivial  - a trivial step handed to a container of a warm pool (one container pinned);
* warm models   - the pydantic step, the same way.
* node baseline - the ``baseline`` of the node20 image: ``node -e 0`` (issue 14);
* js cold       - a trivial JavaScript step (``export default async () => 1``), cold as above;
* js warm       - the same handed to a warm pooled node20 container.

Before each timed run (untimed) the warm pool is refilled and every used container removed, so
no background work of one measurement runs during another.

Then the memory one idle pooled container costs (``docker stats`` usage and RSS), the ratios
against the targets of issue 12 (warm trivial <= 0.15x baseline, cold trivial <= 0.8x baseline,
warm models <= 1.2x warm trivial), the JavaScript step's ratios to the node baseline and to the
Python step, and the pool settings used. Last, the cost of a dependency
layer: the first run of a step needing ``text-unidecode==1.3`` after its layer was removed,
against the p50 of 5 cached runs (it downloads the wheel, so it needs the package index).

Run from the repository root with the base images built (``.venv/bin/stepwell images build``):

    .venv/bin/python bench/sandbox_latency.py [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
from collections.abc import Callable

import docker
from bench_common import (
    COLD_JS_NOOP_BUNDLE,
    COLD_MODELS_BUNDLE,
    COLD_NOOP_BUNDLE,
    JS_NOOP_BUNDLE,
    MODELS_BUNDLE,
    NOOP_BUNDLE,
    bench_config,
    idle_pooled_memory,
    load_line,
    percentile,
    pool_line,
    timed,
    verdict,
)
from docker.errors import ImageNotFound, NotFound
from hardened_run import hardened_run

from sandbox import labels
from sandbox.envelope import Envelope, StepContext
from sandbox.images import ImageBuilder
from sandbox.launcher import Sandbox
from sandbox.layers import DEPS_REPOSITORY, layer_key
from sandbox.node_image import NodeImageBuilder
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Manifest
from step_sdk.requirements import parse_requirements

RUN_ID = "bench"
DEPS = ("text-unidecode==1.3",)
CACHED_RUNS = 5
DEPS_STEP = b"import text_unidecode\n\n\ndef main():\n    return text_unidecode.unidecode('x')\n"
DEPS_BUNDLE = build_bundle(
    Manifest(name="bench.deps", version="1.0.0", entrypoint="step:main", requirements=DEPS),
    {"step.py": DEPS_STEP},
)
READY_TIMEOUT_S = 120.0


def run_step(sandbox: Sandbox, bundle: Bundle) -> None:
    result = sandbox.run(bundle, Envelope(input={}, context=StepContext(run_id=RUN_ID)))
    assert result.ok, result.error


def settle(sandbox: Sandbox) -> None:
    """Wait until ``sandbox`` has removed what it used and its pools are full again."""
    sandbox.flush()
    if not sandbox.pools.wait_ready(READY_TIMEOUT_S):
        raise SystemExit(f"the warm pool did not fill in {READY_TIMEOUT_S:g} s")


def interleaved(
    actions: dict[str, Callable[[], object]], runs: int, settled: list[Sandbox]
) -> dict[str, list[float]]:
    """Milliseconds of each action, one call of each per round, ``runs`` rounds; before each
    call, untimed, every sandbox of ``settled`` is settled."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            for sandbox in settled:
                settle(sandbox)
            samples[name] += timed(action, 1)
    return samples


def drop_deps_layer(client: docker.DockerClient, base_image_id: str) -> None:
    """Remove the bench's dependency layer and the bundle images standing on it."""
    key = layer_key(base_image_id, parse_requirements(list(DEPS)))
    try:
        deps_id = client.images.get(f"{DEPS_REPOSITORY}:{key[:40]}").id
    except ImageNotFound:
        deps_id = None
    for image in client.images.list(filters={"label": f"{labels.ROLE}={labels.ROLE_BUNDLE}"}):
        step = str(image.labels.get("stepwell.step", ""))
        if (deps_id and image.attrs.get("Parent") == deps_id) or step.startswith("bench.deps@"):
            with contextlib.suppress(ImageNotFound, NotFound):
                client.images.remove(str(image.id), force=True)
    if deps_id is not None:
        client.images.remove(f"{DEPS_REPOSITORY}:{key[:40]}", force=True)


def print_table(results: dict[str, list[float]]) -> dict[str, float]:
    p50 = {name: percentile(samples, 50) for name, samples in results.items()}
    print(f"\n{'measurement':<26}{'runs':>6}{'p50 ms':>10}{'p95 ms':>10}")
    print("-" * 52)
    for name, samples in results.items():
        print(f"{name:<26}{len(samples):>6}{p50[name]:>10.1f}{percentile(samples, 95):>10.1f}")
    return p50


def print_ratios(p50: dict[str, float]) -> None:
    print()
    ratios = [
        ("warm trivial", "baseline", 0.15),
        ("cold trivial", "baseline", 0.8),
        ("warm models", "warm trivial", 1.2),
        ("warm trivial", "floor", None),
        ("pools off", "baseline", None),
        ("cold models", "cold trivial", None),
        ("js warm", "node baseline", None),
        ("js cold", "node baseline", None),
        ("js warm", "warm trivial", None),
        ("js cold", "cold trivial", None),
        ("node baseline", "baseline", None),
    ]
    for top, bottom, target in ratios:
        ratio = p50[top] / p50[bottom]
        note = verdict(ratio, target) if target is not None else ""
        print(f"{'ratio ' + top + '/' + bottom:<40}{ratio:>7.2f}x  {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="runs per measurement (default 20)")
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter of the floor (default: this one)"
    )
    parser.add_argument("--no-layer", action="store_true", help="skip the dependency layer part")
    args = parser.parse_args(argv)
    runs: int = args.runs
    if runs < 1:
        parser.error("--runs must be at least 1")

    client = docker.from_env(timeout=120)
    # Pools on with one container pinned for the default limits class, no other pool.
    cold_config, warm_config = bench_config(0), bench_config(0)
    base_id = ImageBuilder(client, cold_config).ensure()
    node_id = NodeImageBuilder(client, cold_config).ensure()
    server = client.version()
    print(
        f"# Docker {server.get('Version')} ({server.get('Os')}/{server.get('Arch')}), Python "
        f"{sys.version.split()[0]}, base image {base_id[7:19]}, {runs} runs each, floor: "
        f"{args.python}\n# {load_line()}\n# warm and cold: {pool_line(warm_config)}, one "
        "container pinned for the default limits class"
    )

    cold = Sandbox(client, cold_config)
    warm = Sandbox(client, warm_config)
    try:
        for bundle in (NOOP_BUNDLE, MODELS_BUNDLE, JS_NOOP_BUNDLE):
            run_step(cold, bundle)  # warm-up: prepares the image
        warm.pools.warm(warm.pool_key(NOOP_BUNDLE), 1)  # both bundles share one pool key
        warm.pools.warm(warm.pool_key(JS_NOOP_BUNDLE), 1)
        assert warm.pool_key(COLD_NOOP_BUNDLE) != warm.pool_key(NOOP_BUNDLE)
        assert warm.pool_key(COLD_JS_NOOP_BUNDLE) != warm.pool_key(JS_NOOP_BUNDLE)
        actions: dict[str, Callable[[], object]] = {
            "floor": lambda: subprocess.run([args.python, "-c", "pass"], check=True),
            "baseline": lambda: hardened_run(client, cold_config, base_id),
            "pools off": lambda: run_step(cold, NOOP_BUNDLE),
            "cold trivial": lambda: run_step(warm, COLD_NOOP_BUNDLE),
            "cold models": lambda: run_step(warm, COLD_MODELS_BUNDLE),
            "warm trivial": lambda: run_step(warm, NOOP_BUNDLE),
            "warm models": lambda: run_step(warm, MODELS_BUNDLE),
            "node baseline": lambda: hardened_run(
                client, cold_config, node_id, ("node", "-e", "0")
            ),
            "js cold": lambda: run_step(warm, COLD_JS_NOOP_BUNDLE),
            "js warm": lambda: run_step(warm, JS_NOOP_BUNDLE),
        }
        p50 = print_table(interleaved(actions, runs, [warm]))
        print_ratios(p50)
        settle(warm)
        memory = idle_pooled_memory(client, warm)
        stats = warm.pools.stats()
        counts = {k: stats[k] for k in ("hits", "misses", "filled", "fill_failures", "dead")}
        print(f"\npool counters: {counts}")
    finally:
        warm.close()
        cold.close()
    if memory:
        usage = statistics.median(m["usage"] for m in memory)
        rss = statistics.median(m["rss"] for m in memory)
        print(f"one idle pooled container: {usage:.1f} MiB (docker stats usage), {rss:.1f} MiB RSS")
    print(f"# {load_line()}")

    if not args.no_layer:
        drop_deps_layer(client, base_id)
        fresh = Sandbox(client, cold_config)  # no in-memory image cache from the runs above
        first = timed(lambda: run_step(fresh, DEPS_BUNDLE), 1)[0]
        cached = percentile(timed(lambda: run_step(fresh, DEPS_BUNDLE), CACHED_RUNS), 50)
        print(f"\ndependency layer ({', '.join(DEPS)})")
        print("-" * 52)
        print(f"{'first-time (layer build)':<26}{1:>6}{first:>10.1f}")
        print(f"{'cached (p50)':<26}{CACHED_RUNS:>6}{cached:>10.1f}")
        print(f"{'ratio first/cached':<26}{'':>6}{first / cached:>9.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
