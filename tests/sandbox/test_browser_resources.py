"""Attacks on the host's resources from a browser step: a page that allocates until OOM, a script
that opens endless tabs and workers, a page that never finishes loading, a download that tries to
fill the disk, a download over the per-file cap. Each asserts what the host observed (Docker's
inspect, its own clock, the container's removal), not what the step says."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import replace

import docker
import pytest

from sandbox.config import SandboxConfig
from sandbox.errors import ErrorType
from sandbox.launcher import Sandbox
from tests.sandbox.browser_fixtures import (
    RunBrowser,
    browser_runner,
    step_containers,
    while_running,
)

# A renderer that allocates 16 MiB arrays (touched, so they are resident) for ever.
ALLOCATE = """
from step_sdk.browser import browser

def main():
    with browser() as chromium:
        page = chromium.new_page()
        page.set_content("<p>hoarding</p>")
        page.evaluate('''() => { const hoard = [];
            for (;;) { const a = new Uint8Array(16 << 20); a.fill(7); hoard.push(a); } }''')
        return "survived"
"""


def test_a_page_allocating_until_oom_is_memory_limit_exceeded(run_browser: RunBrowser) -> None:
    result = run_browser(ALLOCATE, memory_mb=512, timeout_s=60)
    assert result.error is not None, result.output
    assert result.error.type is ErrorType.MEMORY, (result.error, result.logs[-2000:])
    assert result.oom_killed
    assert not result.error.retryable


CATCHES_THE_CRASH = ALLOCATE.replace(
    "        page.evaluate(", "        try:\n            page.evaluate("
).replace(
    '        return "survived"',
    "        except Exception as exc:\n            return str(exc)[:200]",
)


def test_a_renderer_oom_killed_is_memory_limit_exceeded_even_if_the_step_catches_it(
    run_browser: RunBrowser,
) -> None:
    # The step catches "Target crashed" and returns normally: the OOM kill the host counted
    # in the container's cgroup, not the step's word, decides.
    result = run_browser(CATCHES_THE_CRASH, memory_mb=512, timeout_s=60)
    assert result.error is not None, result.output
    assert result.error.type is ErrorType.MEMORY, (result.error, result.logs[-2000:])
    assert result.oom_killed


ENDLESS_TABS = """
from step_sdk.browser import browser

WORKERS = '''() => { for (let i = 0; i < 50; i++)
  new Worker(URL.createObjectURL(new Blob(["onmessage = () => {}"]))); }'''

def main():
    pages = 0
    try:
        with browser() as chromium:
            while True:  # a context per tab: a renderer process per tab
                page = chromium.new_context().new_page()
                page.set_content("<p>tab</p>", timeout=10_000)
                page.evaluate(WORKERS)
                pages += 1
    except Exception as exc:
        return {"pages": pages, "error": str(exc)[:500]}
"""
# Below what endless tabs reach (~330 processes and threads with 1 GiB, where Chromium's own
# renderer limit stops it), so the cap, not Chromium, is what stops them here.
PIDS_CAP = 200


@pytest.fixture
def capped_sandbox(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, browser_image: str
) -> Iterator[Sandbox]:
    sandbox = Sandbox(docker_client, replace(sandbox_config, browser_pids_limit=PIDS_CAP))
    yield sandbox
    sandbox.close()


def test_endless_tabs_and_workers_hit_the_pids_cap_and_the_step_ends(
    capped_sandbox: Sandbox, docker_client: docker.DockerClient, run_id: str
) -> None:
    seen: list[int] = []

    def probe() -> bool:
        seen.extend(c["HostConfig"]["PidsLimit"] for c in step_containers(docker_client, run_id))
        return bool(seen)

    run = browser_runner(capped_sandbox, run_id)
    # a generous deadline: on a loaded machine the tabs come slower, and the cap is what ends it
    result = while_running(lambda: run(ENDLESS_TABS, timeout_s=120), probe)
    assert seen == [PIDS_CAP]
    # The cap holds and the step ends cleanly, long before its deadline: the browser could not
    # start another process or thread, crashed, and the step saw that as an error.
    assert not result.timed_out
    assert result.error is None, result.error
    assert "crashed" in result.output["error"] or "closed" in result.output["error"], result.output
    assert subprocess.run(["true"], check=False).returncode == 0


NEVER_LOADS = """
from step_sdk.browser import browser

def main():
    with browser() as chromium:
        page = chromium.new_page()
        # The page's own script never returns: "load" never fires.
        page.set_content("<script>for (;;) {}</script><p>never</p>", timeout=0)
        return "loaded"
"""


def test_a_page_that_never_finishes_loading_is_a_step_timeout(run_browser: RunBrowser) -> None:
    result = run_browser(NEVER_LOADS, timeout_s=5)
    assert result.error is not None, result.output
    assert result.error.type is ErrorType.TIMEOUT
    assert result.timed_out


FILL_DISK = """
from step_sdk.browser import DOWNLOADS_DIR, browser

# Each click downloads a fresh 24 MiB file made in the page (no network needed; under the 32 MiB
# per-file cap, RLIMIT_FSIZE, which a single bigger download runs into first).
PAGE = '''<a id="get" download="big.bin">get</a><script>
  document.getElementById("get").addEventListener("click", (event) => {
    const blob = new Blob([new Uint8Array(24 << 20).fill(1)]);
    event.target.href = URL.createObjectURL(blob);
  });
</script>'''

def main():
    import os
    saved, failure = 0, None
    with browser() as chromium:
        page = chromium.new_page(accept_downloads=True)
        page.set_content(PAGE)
        for _ in range(14):
            with page.expect_download(timeout=20_000) as info:
                page.click("#get")
            failure = info.value.failure()
            if failure is not None:
                break
            saved += 1
    total = sum(os.path.getsize(os.path.join(DOWNLOADS_DIR, name))
                for name in os.listdir(DOWNLOADS_DIR))
    return {"saved": saved, "failure": failure, "total_bytes": total}
"""


def test_a_download_that_tries_to_fill_the_disk_is_capped(
    run_browser: RunBrowser, sandbox_config: SandboxConfig
) -> None:
    result = run_browser(FILL_DISK, timeout_s=90)
    cap = sandbox_config.browser_tmp_mb * 1024 * 1024
    assert result.error is None, (result.error, result.logs[-2000:])
    # 14 x 24 MiB do not fit in the 256 MiB /tmp: a download fails once it is full
    assert result.output["failure"] == "canceled", result.output
    assert 0 < result.output["saved"] < 14
    assert result.output["total_bytes"] <= cap


# One 40 MiB download, over the 32 MiB per-file cap (RLIMIT_FSIZE); then the same page goes on.
TOO_BIG = """
from step_sdk.browser import browser

PAGE = '''<a id="get" download="big.bin">get</a><script>
  document.getElementById("get").addEventListener("click", (event) => {
    const blob = new Blob([new Uint8Array(40 << 20).fill(1)]);
    event.target.href = URL.createObjectURL(blob);
  });
</script>'''

def main():
    with browser() as chromium:
        page = chromium.new_page(accept_downloads=True)
        page.set_content(PAGE)
        with page.expect_download(timeout=20_000) as info:
            page.click("#get")
        failure = info.value.failure()
        page.set_content("<title>still here</title>")
        return {"failure": failure, "title": page.title()}
"""


def test_a_download_over_the_file_size_cap_fails_and_the_browser_lives(
    run_browser: RunBrowser,
) -> None:
    """Without the image's ``trap '' XFSZ`` (sandbox/browser_image.py) SIGXFSZ killed Chromium:
    the failure read "Target page, context or browser has been closed" and the page was gone."""
    result = run_browser(TOO_BIG, timeout_s=60)
    assert result.error is None, (result.error, result.logs[-2000:])
    assert result.output == {"failure": "canceled", "title": "still here"}, result.output
