"""Sandbox latency benchmark: what a step execution costs on top of starting Python.

Measured, each over N runs (p50 and p95, in milliseconds):

* floor    - a bare ``python3 -c pass`` subprocess on the host (by default the interpreter running
  this script, called directly: a ``python3`` found through a pyenv shim would add ~60 ms);
* baseline - the equivalent of ``docker run --rm`` of the base image with the sandbox's hardening
  running ``python3 -c pass``, through the docker SDK's low-level API (create, start, wait,
  remove);
* sandbox  - a trivial step through ``Sandbox.run`` (create, envelope on stdin, result, remove),
  after one uncounted warm-up run that builds the bundle's image layer.

Then the cost of a dependency layer: the first run of a step needing ``text-unidecode==1.3`` after
its layer (and the bundle images standing on it) was removed, against the p50 of 5 cached runs.
The first run downloads the wheel, so it needs the package index.

Run from the repository root with the base image built (``.venv/bin/stepwell images build``):

    .venv/bin/python bench/sandbox_latency.py [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import docker
from docker.errors import ImageNotFound, NotFound
from hardened_run import hardened_run

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope, StepContext
from sandbox.images import ImageBuilder
from sandbox.launcher import Sandbox
from sandbox.layers import DEPS_REPOSITORY, layer_key
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Manifest
from step_sdk.requirements import parse_requirements

RUN_ID = "bench"
CACHE_DIR = Path(__file__).resolve().parent.parent / ".stepwell" / "cache"
DEPS = ("text-unidecode==1.3",)
CACHED_RUNS = 5
NOOP_BUNDLE = build_bundle(
    Manifest(name="bench.noop", version="1.0.0", entrypoint="step:main"),
    {"step.py": b"def main():\n    return 1\n"},
)
DEPS_STEP = b"import text_unidecode\n\n\ndef main():\n    return text_unidecode.unidecode('x')\n"
DEPS_BUNDLE = build_bundle(
    Manifest(name="bench.deps", version="1.0.0", entrypoint="step:main", requirements=DEPS),
    {"step.py": DEPS_STEP},
)


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile of ``samples`` (0 < p <= 100)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(action: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds of ``runs`` calls of ``action``."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def floor(python: str) -> None:
    subprocess.run([python, "-c", "pass"], check=True)


def baseline(client: docker.DockerClient, config: SandboxConfig, image_id: str) -> None:
    hardened_run(client, config, image_id)


def sandbox_step(sandbox: Sandbox, bundle: Bundle) -> None:
    result = sandbox.run(bundle, Envelope(input={}, context=StepContext(run_id=RUN_ID)))
    assert result.ok, result.error


def drop_deps_layer(client: docker.DockerClient, base_image_id: str) -> None:
    """Remove the bench's dependency layer and the bundle images standing on it.

    Only bundle images built on that layer (or by this bench) go, not every bundle image: other
    runs on the same engine may be using theirs.
    """
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="runs per measurement (default 20)")
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter of the floor (default: this one)"
    )
    args = parser.parse_args(argv)
    runs: int = args.runs
    if runs < 1:
        parser.error("--runs must be at least 1")

    client = docker.from_env(timeout=120)
    config = SandboxConfig(cache_dir=CACHE_DIR)
    base_id = ImageBuilder(client, config).ensure()
    server = client.version()
    print(
        f"# {os.cpu_count()} CPUs, Docker {server.get('Version')} "
        f"({server.get('Os')}/{server.get('Arch')}), Python {sys.version.split()[0]}, "
        f"base image {base_id[7:19]}, {runs} runs each, floor: {args.python}"
    )

    sandbox = Sandbox(client, config)
    sandbox_step(sandbox, NOOP_BUNDLE)  # warm-up: builds the bundle's image layer
    results = {
        "floor": timed(lambda: floor(args.python), runs),
        "baseline": timed(lambda: baseline(client, config, base_id), runs),
        "sandbox": timed(lambda: sandbox_step(sandbox, NOOP_BUNDLE), runs),
    }
    p50 = {name: percentile(samples, 50) for name, samples in results.items()}
    p95 = {name: percentile(samples, 95) for name, samples in results.items()}

    print(f"\n{'measurement':<26}{'runs':>6}{'p50 ms':>10}{'p95 ms':>10}")
    print("-" * 52)
    for name, samples in results.items():
        print(f"{name:<26}{len(samples):>6}{p50[name]:>10.1f}{p95[name]:>10.1f}")
    for other in ("baseline", "floor"):
        label = f"ratio sandbox/{other}"
        ratio50, ratio95 = p50["sandbox"] / p50[other], p95["sandbox"] / p95[other]
        print(f"{label:<26}{'':>6}{ratio50:>9.2f}x{ratio95:>9.2f}x")

    drop_deps_layer(client, base_id)
    fresh = Sandbox(client, config)  # no in-memory image cache from the runs above
    first = timed(lambda: sandbox_step(fresh, DEPS_BUNDLE), 1)[0]
    cached = percentile(timed(lambda: sandbox_step(fresh, DEPS_BUNDLE), CACHED_RUNS), 50)
    print(f"\ndependency layer ({', '.join(DEPS)})")
    print("-" * 52)
    print(f"{'first-time (layer build)':<26}{1:>6}{first:>10.1f}")
    print(f"{'cached (p50)':<26}{CACHED_RUNS:>6}{cached:>10.1f}")
    print(f"{'ratio first/cached':<26}{'':>6}{first / cached:>9.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
