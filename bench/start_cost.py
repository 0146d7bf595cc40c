"""Where a container start goes, and what the start-cost choices of issue 12 are worth.

Measured in one run, interleaved round by round, p50 over N runs (milliseconds):

* the phases (create, start, wait, remove) of a hardened ``python3 -c pass`` container of the
  base image, as the sandbox configures it;
* the same with ``network_disabled`` off (``network_mode`` stays ``none``): what leaving the
  network stack out entirely saves;
* the same under every other OCI runtime the engine lists that can start it (``crun``, say);
* inside the container, the CPU time of importing what an execution imports (the runner's
  modules, the SDK, pydantic, jsonschema) with the image's ahead-of-time bytecode and without
  it (``-X pycache_prefix`` pointing at an empty directory: every module compiled again, as a
  read-only root filesystem without ``.pyc`` files would make every container do).

Run from the repository root with the base image built (``.venv/bin/stepwell images build``):

    .venv/bin/python bench/start_cost.py [--runs N]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import statistics
import sys
import time
from typing import Any

import docker
from bench_common import bench_config, load_line

from sandbox import labels
from sandbox.config import ENV_ALLOWLIST, SANDBOX_USER, SandboxConfig
from sandbox.errors import SandboxError
from sandbox.hardening import container_kwargs, host_config_kwargs
from sandbox.images import ImageBuilder
from sandbox.runtimes import check_runtime, engine_runtimes
from step_sdk.manifest import Limits

PHASES = ("create", "start", "wait", "remove", "total")
IMPORTS = r"""
import sys, time
start = time.process_time()
sys.path[:0] = ["/opt/stepwell", "/opt/stepwell/sdk"]
import runner, step_sdk, step_sdk.decorator, step_sdk.json_values, pydantic, jsonschema
print(round((time.process_time() - start) * 1000, 1))
"""


def phases(
    client: docker.DockerClient, config: SandboxConfig, image: str, network_disabled: bool = True
) -> list[float]:
    """Milliseconds of create, start, wait, remove and their total for one container."""
    api, now = client.api, int(time.time())
    step_labels = {
        labels.ROLE: labels.ROLE_STEP,
        labels.RUN_ID: "bench",
        labels.EXPIRES: str(now + 600),
    }
    kwargs: dict[str, Any] = container_kwargs(image, step_labels, ["python3", "-c", "pass"])
    kwargs["network_disabled"] = network_disabled
    marks = [time.perf_counter()]
    created = api.create_container(
        host_config=api.create_host_config(**host_config_kwargs(config, Limits())), **kwargs
    )
    marks.append(time.perf_counter())
    try:
        api.start(created["Id"])
        marks.append(time.perf_counter())
        assert api.wait(created["Id"], timeout=60)["StatusCode"] == 0
        marks.append(time.perf_counter())
    finally:
        api.remove_container(created["Id"], force=True)
    marks.append(time.perf_counter())
    steps = [(b - a) * 1000 for a, b in itertools.pairwise(marks)]
    return [*steps, (marks[-1] - marks[0]) * 1000]


def import_cpu_ms(client: docker.DockerClient, image: str, bytecode: bool) -> float:
    """CPU milliseconds, inside a read-only container, of importing what an execution imports."""
    options = [] if bytecode else ["-X", "pycache_prefix=/tmp/no-bytecode"]
    output = client.containers.run(
        image,
        ["python3", "-I", "-B", *options, "-c", IMPORTS],
        network_disabled=True,
        network_mode="none",
        read_only=True,
        tmpfs={"/tmp": "size=16m"},
        user=SANDBOX_USER,
        environment=ENV_ALLOWLIST,
        labels={labels.ROLE: labels.ROLE_STEP, labels.RUN_ID: "bench"},
        remove=True,
    )
    return float(output.decode().strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="runs per variant (default 15)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    client = docker.from_env(timeout=120)
    config = bench_config(0)
    image = ImageBuilder(client, config).ensure()
    variants: dict[str, tuple[SandboxConfig, bool]] = {
        f"hardened ({config.container_runtime})": (config, True),
        "network_disabled off": (config, False),
    }
    skipped = []
    for runtime in engine_runtimes(client):
        other = dataclasses.replace(config, container_runtime=runtime)
        if runtime == config.container_runtime or runtime.startswith("io.containerd"):
            continue
        try:
            check_runtime(client, other, image)
        except SandboxError as exc:
            skipped.append(f"{runtime}: ...{str(exc).splitlines()[0][-150:]}")  # the cause
            continue
        variants[f"runtime {runtime}"] = (other, True)
    print(f"# base image {image[7:19]}, {args.runs} runs each\n# {load_line()}")
    for line in skipped:
        print(f"# skipped {line}")

    samples: dict[str, list[list[float]]] = {name: [] for name in variants}
    imports: dict[str, list[float]] = {"with bytecode": [], "without bytecode": []}
    for _ in range(args.runs):
        for name, (variant, network_disabled) in variants.items():
            samples[name].append(phases(client, variant, image, network_disabled))
        imports["with bytecode"].append(import_cpu_ms(client, image, True))
        imports["without bytecode"].append(import_cpu_ms(client, image, False))

    print(f"\n{'container (p50 ms)':<28}" + "".join(f"{p:>9}" for p in PHASES))
    print("-" * (28 + 9 * len(PHASES)))
    for name, rows in samples.items():
        p50 = [statistics.median(row[i] for row in rows) for i in range(len(PHASES))]
        print(f"{name:<28}" + "".join(f"{v:>9.1f}" for v in p50))
    print(f"\n{'imports of an execution':<28}{'CPU ms p50':>12}")
    print("-" * 40)
    for name, values in imports.items():
        print(f"{name:<28}{statistics.median(values):>12.1f}")
    print(f"# {load_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
