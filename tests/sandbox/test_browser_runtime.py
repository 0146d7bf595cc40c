"""The browser runtime works: Debian's Chromium, driven by Playwright, inside a hardened step
container with no network, and nothing of it downloaded."""

from __future__ import annotations

import base64

import docker
import pytest

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.launcher import Sandbox
from step_sdk.runtimes import PYTHON_BROWSER
from tests.sandbox.browser_fixtures import RunBrowser, browser_runner, make_browser_bundle

SCREENSHOT = """
import base64
from step_sdk.browser import browser

def main(html: str):
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 320, "height": 200})
        page.set_content(html)
        shot = page.screenshot()
        return {
            "title": page.title(),
            "version": chromium.version,
            "png": base64.b64encode(shot[:8]).decode(),
            "bytes": len(shot),
        }
"""


def test_a_browser_step_screenshots_a_page(run_browser: RunBrowser) -> None:
    result = run_browser(SCREENSHOT, {"html": "<title>Hello</title><h1>Hello</h1>"})
    assert result.error is None, (result.error, result.logs)
    assert result.output["title"] == "Hello"
    assert base64.b64decode(result.output["png"]) == b"\x89PNG\r\n\x1a\n"
    assert result.output["bytes"] > 500
    assert result.output["version"].split(".")[0].isdigit()


ASYNC_STEP = """
from step_sdk.browser import async_browser

async def main():
    async with async_browser() as chromium:
        page = await chromium.new_page()
        await page.set_content("<title>async</title>")
        return await page.title()
"""


def test_an_async_step_gets_the_async_browser(run_browser: RunBrowser) -> None:
    result = run_browser(ASYNC_STEP)
    assert result.error is None, (result.error, result.logs[-2000:])
    assert result.output == "async"


NOTHING_DOWNLOADED = """
import os

def main():
    return {
        "env": {k: v for k, v in os.environ.items() if k.startswith("PLAYWRIGHT")},
        "browsers": [p for p in ("/tmp/.cache/ms-playwright", "/nonexistent")
                     if os.path.exists(p)],
        "chromium": os.path.realpath("/usr/bin/chromium"),
    }
"""


def test_playwright_is_pointed_at_debians_chromium_and_has_no_browser_of_its_own(
    run_browser: RunBrowser,
) -> None:
    result = run_browser(NOTHING_DOWNLOADED)
    assert result.error is None, result.error
    assert result.output["env"] == {
        "PLAYWRIGHT_BROWSERS_PATH": "/nonexistent",
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    }
    assert result.output["browsers"] == []
    assert result.output["chromium"] == "/usr/bin/chromium"  # Debian's wrapper script


def test_a_warm_pooled_browser_container_serves_a_browser_step(
    docker_client: docker.DockerClient,
    sandbox_config: SandboxConfig,
    browser_image: str,
    run_id: str,
) -> None:
    warm = Sandbox(docker_client, sandbox_config)
    try:
        run = browser_runner(warm, run_id)
        key = warm.pool_key(make_browser_bundle(SCREENSHOT))
        assert key.runtime == PYTHON_BROWSER and key.memory_mb == 1024
        warm.pools.warm(key, 1)
        assert warm.pools.wait_ready(120)
        pooled = docker_client.api.containers(
            filters={
                "label": [
                    f"{labels.ROLE}={labels.ROLE_POOLED}",
                    f"{labels.OWNER}={labels.owner_id()}",
                ]
            }
        )
        limits = {
            docker_client.api.inspect_container(c["Id"])["HostConfig"]["PidsLimit"] for c in pooled
        }
        assert sandbox_config.browser_pids_limit in limits
        result = run(SCREENSHOT, {"html": "<title>Warm</title>"})
        assert result.error is None, (result.error, result.logs[-2000:])
        assert result.output["title"] == "Warm"
        assert warm.pools.stats()["hits"] == 1
    finally:
        warm.close()


WITH_REQUIREMENT = """
import text_unidecode
from step_sdk.browser import browser

def main():
    with browser() as chromium:
        page = chromium.new_page()
        page.set_content("<title>Café</title>")
        return text_unidecode.unidecode(page.title())
"""


@pytest.mark.network
def test_a_browser_step_with_requirements_runs_on_a_layer_of_the_browser_image(
    run_browser: RunBrowser, docker_client: docker.DockerClient, browser_image: str
) -> None:
    result = run_browser(WITH_REQUIREMENT, requirements=("text-unidecode==1.3",))
    assert result.error is None, (result.error, result.logs[-2000:])
    assert result.output == "Cafe"
    layer = docker_client.images.get(result.image)
    assert layer.id != browser_image
    # pools seeded from this layer start browser containers (sandbox.pool_seed)
    assert layer.labels[labels.RUNTIME] == PYTHON_BROWSER
