"""What the benchmarks share: sample statistics, the bundles they run, pool figures."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.launcher import Sandbox
from step_sdk.bundle import build_bundle
from step_sdk.manifest import Limits, Manifest
from stepwell_settings import Settings

CACHE_DIR = Path(__file__).resolve().parent.parent / ".stepwell" / "cache"
NOOP_BUNDLE = build_bundle(
    Manifest(name="bench.noop", version="1.0.0", entrypoint="step:main"),
    {"step.py": b"def main():\n    return 1\n"},
)
# A step that imports the SDK's pydantic models and defines and validates one of its own.
MODELS_STEP = b"""from pydantic import BaseModel

from step_sdk.manifest import Limits, Manifest


class Lead(BaseModel):
    company: str
    score: int = 0


def main(company="acme"):
    lead = Lead(company=company)
    return {"company": lead.company, "timeout_s": Limits().timeout_s, "m": Manifest.__name__}
"""
MODELS_BUNDLE = build_bundle(
    Manifest(name="bench.models", version="1.0.0", entrypoint="step:main"),
    {"step.py": MODELS_STEP},
)


# The same steps in a limits class of their own (memory), which no warm pool serves: their
# executions take the cold path even in a sandbox whose pools are on.
COLD_LIMITS = Limits(memory_mb=192)
COLD_NOOP_BUNDLE = build_bundle(
    Manifest(name="bench.noop-cold", version="1.0.0", entrypoint="step:main", limits=COLD_LIMITS),
    {"step.py": b"def main():\n    return 1\n"},
)
# The trivial JavaScript step (issue 14), warm (default limits) and cold (no pool for its class).
_JS_NOOP = {"step.mjs": b"export default async () => 1;\n"}
JS_NOOP_BUNDLE = build_bundle(
    Manifest(name="bench.js-noop", version="1.0.0", runtime="node20", entrypoint="step.mjs"),
    _JS_NOOP,
)
COLD_JS_NOOP_BUNDLE = build_bundle(
    Manifest(
        name="bench.js-noop-cold",
        version="1.0.0",
        runtime="node20",
        entrypoint="step.mjs",
        limits=COLD_LIMITS,
    ),
    _JS_NOOP,
)
COLD_MODELS_BUNDLE = build_bundle(
    Manifest(name="bench.models-cold", version="1.0.0", entrypoint="step:main", limits=COLD_LIMITS),
    {"step.py": MODELS_STEP},
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


def bench_config(pool_size: int = 0, **overrides: Any) -> SandboxConfig:
    """The sandbox configuration the settings give (``STEPWELL_*``), with the bench's cache
    directory, ``pool_size`` and ``overrides``."""
    config = Settings().sandbox_config()
    return replace(config, cache_dir=CACHE_DIR, pool_size=pool_size, **overrides)


def pool_line(config: SandboxConfig) -> str:
    """The pool and runtime settings a measurement ran with, as one line."""
    return (
        f"runtime {config.container_runtime}, pool size {config.pool_size}, idle "
        f"{config.pool_idle_s:g} s, refill concurrency {config.pool_refill_concurrency}, keep "
        f"warm {config.pool_keep_warm_s:g} s, max keys {config.pool_max_keys}"
    )


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def verdict(value: float, target: float, *, at_most: bool = True) -> str:
    met = value <= target if at_most else value >= target
    return f"(target {'<=' if at_most else '>='} {target:g}x: {'met' if met else 'NOT met'})"


def idle_pooled_memory(client: docker.DockerClient, sandbox: Sandbox) -> list[dict[str, float]]:
    """Memory of each idle pooled container of ``sandbox`` now, in MiB: ``usage`` as ``docker
    stats`` shows it (cgroup usage less page cache) and ``rss`` (anonymous memory)."""
    del sandbox  # its containers carry this process's owner label
    found = client.api.containers(
        filters={
            "label": [f"{labels.ROLE}={labels.ROLE_POOLED}", f"{labels.OWNER}={labels.owner_id()}"]
        }
    )
    figures = []
    for container in found:
        memory = client.api.stats(container["Id"], stream=False).get("memory_stats", {})
        detail = memory.get("stats", {})
        cache = detail.get(
            "total_inactive_file", detail.get("inactive_file", detail.get("cache", 0))
        )
        rss = detail.get("total_rss", detail.get("rss", detail.get("anon", 0)))
        figures.append({"usage": (memory.get("usage", 0) - cache) / 2**20, "rss": rss / 2**20})
    return figures
