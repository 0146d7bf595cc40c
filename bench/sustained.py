"""Sustained throughput: N step executions at concurrency C, against raw Docker churn.

Measured in one run, each way after C uncounted warm-up executions:

* docker churn - N hardened containers of the base image running ``python3 -c pass``, C at a
  time, through the docker SDK's low-level API (create, start, wait, remove): what the engine
  sustains on this machine, the baseline;
* pools off    - N trivial steps through ``Sandbox.run`` with pools off (size 0), C at a time;
* warm pool    - the same with a warm pool of C containers (refilled in the background; an
  execution that finds the pool empty takes the cold path).

Every execution runs in a fresh container that is removed after use. Prints executions/s of
each, the ratios to the churn and whether the pooled one meets the target of issue 12
(>= 0.8x), with the pool's counters (hits, misses) and settings.

Run from the repository root with the base image built (``.venv/bin/stepwell images build``):

    .venv/bin/python bench/sustained.py [--executions N] [--concurrency C] [--refill R]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import docker
from bench_common import NOOP_BUNDLE, bench_config, load_line, pool_line, verdict
from hardened_run import hardened_run

from sandbox.envelope import Envelope, StepContext
from sandbox.images import ImageBuilder
from sandbox.launcher import Sandbox

RUN_ID = "bench"
TARGET = 0.8


def throughput(action: Callable[[], object], executions: int, concurrency: int) -> float:
    """Executions per second of ``executions`` calls of ``action``, ``concurrency`` at a time
    (after ``concurrency`` uncounted warm-up calls)."""
    with ThreadPoolExecutor(concurrency) as threads:
        list(threads.map(lambda _i: action(), range(concurrency)))
        start = time.perf_counter()
        list(threads.map(lambda _i: action(), range(executions)))
        return executions / (time.perf_counter() - start)


def sandbox_step(sandbox: Sandbox) -> None:
    result = sandbox.run(NOOP_BUNDLE, Envelope(input={}, context=StepContext(run_id=RUN_ID)))
    assert result.ok, result.error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--executions", type=int, default=200, help="per way (default 200)")
    parser.add_argument("--concurrency", type=int, default=4, help="at a time (default 4)")
    parser.add_argument(
        "--refill", type=int, default=None, help="pool refill concurrency (default: settings)"
    )
    args = parser.parse_args(argv)
    if args.executions < 1 or args.concurrency < 1:
        parser.error("--executions and --concurrency must be at least 1")
    executions, concurrency = args.executions, args.concurrency

    client = docker.from_env(timeout=120, max_pool_size=max(10, 3 * concurrency))
    cold_config = bench_config(0)
    overrides = {} if args.refill is None else {"pool_refill_concurrency": args.refill}
    warm_config = bench_config(concurrency, **overrides)
    base_id = ImageBuilder(client, cold_config).ensure()
    print(
        f"# Docker {client.version().get('Version')}, base image {base_id[7:19]}, "
        f"{executions} executions at concurrency {concurrency} each way\n# {load_line()}\n"
        f"# warm: {pool_line(warm_config)}"
    )
    cold = Sandbox(client, cold_config)
    warm = Sandbox(client, warm_config)
    try:
        sandbox_step(cold)  # prepares the image
        warm.pools.warm(warm.pool_key(NOOP_BUNDLE), concurrency)
        warm.pools.wait_ready(120)
        rates = {
            "docker churn": throughput(
                lambda: hardened_run(client, cold_config, base_id), executions, concurrency
            ),
            "pools off": throughput(lambda: sandbox_step(cold), executions, concurrency),
        }
        before = warm.pools.stats()
        rates["warm pool"] = throughput(lambda: sandbox_step(warm), executions, concurrency)
        warm.flush()  # removal of used containers is part of the work
        after = warm.pools.stats()
    finally:
        warm.close()
        cold.close()
    print(f"\n{'way':<26}{'executions':>11}{'per s':>10}")
    print("-" * 47)
    for name, rate in rates.items():
        print(f"{name:<26}{executions:>11}{rate:>10.2f}")
    print()
    for name in ("warm pool", "pools off"):
        ratio = rates[name] / rates["docker churn"]
        note = verdict(ratio, TARGET, at_most=False) if name == "warm pool" else ""
        print(f"{'ratio ' + name + '/churn':<26}{ratio:>20.2f}x  {note}")
    hits, misses = (after[k] - before[k] for k in ("hits", "misses"))
    print(f"warm pool: {hits} hits, {misses} misses (cold path) in the timed part")
    print(f"# {load_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
