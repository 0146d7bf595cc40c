"""Browser step benchmark: a step that opens a local page and screenshots it.

Measured over N runs each (p50 and p95, in milliseconds), interleaved round by round:

* host chromium - ``chromium --headless --screenshot`` of the same page on the host (Debian's
  binary, a fresh profile, no Stepwell at all): the floor;
* cold          - the browser step through ``Sandbox.run`` with no warm container: container
  created, started and removed on the critical path, then Chromium launched by Playwright;
* warm          - the same step handed to a warm pooled browser container (one pinned): the
  container and the runner are up, Chromium still starts per execution (a fresh browser
  per execution, never shared).

The page (``page.html``, a heading, a paragraph, a table and an inline SVG, 1280x800) travels in
the step's bundle and is opened as ``file:///opt/stepwell/bundle/page.html``: no network.
Then the ratios to the host, and the memory a browser step needs: the peak of the container's
memory cgroup (``memory.max_usage_in_bytes`` on cgroup v1, ``memory.peak`` on v2), which the
step reads at its end, over the cold runs; and the pids the container peaked at.

Run from the repository root with the browser image built (``stepwell images build``):

    .venv/bin/python bench/browser.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
from bench_common import bench_config, load_line, percentile, pool_line, timed

from sandbox.browser_image import BrowserImageBuilder
from sandbox.envelope import Envelope, StepContext
from sandbox.launcher import Sandbox
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Manifest
from step_sdk.runtimes import PYTHON_BROWSER

RUN_ID = "bench-browser"
READY_TIMEOUT_S = 120.0
WIDTH, HEIGHT = 1280, 800
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Quarterly report</title>
<style>body{font-family:sans-serif;margin:40px} table{border-collapse:collapse}
td,th{border:1px solid #999;padding:4px 12px}</style></head><body>
<h1>Quarterly report</h1><p>Revenue grew in every region; the table has the figures.</p>
<table><tr><th>Region</th><th>Q1</th><th>Q2</th></tr><tr><td>North</td><td>120</td><td>140</td>
</tr><tr><td>South</td><td>90</td><td>115</td></tr></table>
<svg width="300" height="120"><rect x="10" y="10" width="120" height="100" fill="#4a90d9"/>
<rect x="150" y="40" width="120" height="70" fill="#e94e3c"/></svg></body></html>
"""
STEP = f"""
import os
from step_sdk.browser import browser

def _cgroup(*names):
    for name in names:
        try:
            with open(name) as handle:
                return int(handle.read().split()[0])
        except (OSError, ValueError):
            continue
    return None

def main():
    with browser() as chromium:
        page = chromium.new_page(viewport={{"width": {WIDTH}, "height": {HEIGHT}}})
        page.goto("file:///opt/stepwell/bundle/page.html")
        shot = page.screenshot()
    return {{
        "png_bytes": len(shot),
        "peak_bytes": _cgroup("/sys/fs/cgroup/memory/memory.max_usage_in_bytes",
                              "/sys/fs/cgroup/memory.peak"),
        "pids_peak": _cgroup("/sys/fs/cgroup/pids/pids.peak", "/sys/fs/cgroup/pids.peak"),
    }}
"""


def bundle() -> Bundle:
    manifest = Manifest.model_validate(
        {
            "name": "bench.browser-shot",
            "version": "1.0.0",
            "runtime": PYTHON_BROWSER,
            "entrypoint": "step:main",
            "limits": {"timeout_s": 60},
        }
    )
    return build_bundle(manifest, {"step.py": STEP.encode(), "page.html": PAGE.encode()})


def run_step(sandbox: Sandbox, shot: Bundle, figures: list[dict[str, Any]]) -> None:
    result = sandbox.run(shot, Envelope(input={}, context=StepContext(run_id=RUN_ID)))
    if not result.ok:
        raise SystemExit(f"the browser step failed: {result.error}\n{result.logs[-2000:]}")
    figures.append(result.output)


def host_screenshot(chromium: str, page: Path, out: Path) -> None:
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={tempfile.mkdtemp(prefix='bench-chromium-')}",
            f"--window-size={WIDTH},{HEIGHT}",
            f"--screenshot={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10, help="runs per measurement (default 10)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("the host's chromium is missing (Debian: apt-get install chromium)")

    client = docker.from_env(timeout=120)
    cold_config, warm_config = bench_config(0), bench_config(0)
    image_id = BrowserImageBuilder(client, cold_config).ensure()
    version = subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout
    print(
        f"# browser image {image_id[7:19]}, host {version.strip()}, {args.runs} runs each\n"
        f"# {load_line()}\n# warm: {pool_line(warm_config)}, one container pinned"
    )
    shot = bundle()
    cold, warm = Sandbox(client, cold_config), Sandbox(client, warm_config)
    work = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    page = work / "page.html"
    page.write_text(PAGE)
    cold_figures: list[dict[str, Any]] = []
    warm_figures: list[dict[str, Any]] = []
    try:
        run_step(cold, shot, [])  # warm-up: the image's files in the page cache
        host_screenshot(chromium, page, work / "warm-up.png")
        warm.pools.warm(warm.pool_key(shot), 1)
        actions: dict[str, Callable[[], object]] = {
            "host chromium": lambda: host_screenshot(chromium, page, work / "shot.png"),
            "cold": lambda: run_step(cold, shot, cold_figures),
            "warm": lambda: run_step(warm, shot, warm_figures),
        }
        samples: dict[str, list[float]] = {name: [] for name in actions}
        for _ in range(args.runs):
            for name, action in actions.items():
                for sandbox in (cold, warm):  # untimed: nothing of one run runs in another
                    sandbox.flush()
                if not warm.pools.wait_ready(READY_TIMEOUT_S):
                    raise SystemExit(f"the warm pool did not fill in {READY_TIMEOUT_S:g} s")
                samples[name] += timed(action, 1)
    finally:
        warm.close()
        cold.close()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'measurement':<16}{'runs':>6}{'p50 ms':>10}{'p95 ms':>10}")
    p50 = {}
    for name, values in samples.items():
        p50[name] = percentile(values, 50)
        print(f"{name:<16}{len(values):>6}{p50[name]:>10.0f}{percentile(values, 95):>10.0f}")
    host = p50["host chromium"]
    print(f"\ncold / host chromium: {p50['cold'] / host:.2f}x")
    print(f"warm / host chromium: {p50['warm'] / host:.2f}x")
    print(f"warm / cold:          {p50['warm'] / p50['cold']:.2f}x")
    peaks = [f["peak_bytes"] / 2**20 for f in cold_figures if f.get("peak_bytes")]
    if peaks:
        print(
            f"\nmemory peak of a cold browser step (container cgroup): p50 "
            f"{percentile(peaks, 50):.0f} MiB, max {max(peaks):.0f} MiB "
            f"(limit {shot.manifest.limits.memory_mb} MiB)"
        )
    pids = [f["pids_peak"] for f in cold_figures if f.get("pids_peak")]
    if pids:
        print(f"pids peak: max {max(pids)} (limit {cold_config.browser_pids_limit})")
    print(f"screenshot: {cold_figures[-1]['png_bytes']} bytes PNG")
    return 0


if __name__ == "__main__":
    sys.exit(main())
