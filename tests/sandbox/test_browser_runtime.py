"""The browser runtime works: Debian's Chromium, driven by Playwright, inside a hardened step
container with no network, and nothing of it downloaded."""

from __future__ import annotations

import base64

from tests.sandbox.browser_fixtures import RunBrowser

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
