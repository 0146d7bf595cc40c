"""The browser-test harness: a real ``stepwell up`` (``console_stack``), Debian's Chromium
(``chromium``), a fresh page per test that checks where its requests went (``page``), the same
page signed in through the console's form (``signed_in``), and ``screenshot(page, name)``.

Every test using ``console_stack`` is marked ``temporal`` and ``docker``. Browser tests are plain
``def`` tests (Playwright's sync API refuses to run inside an event loop)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.console.browser import (
    CHROMIUM_ARGS,
    BrowserLog,
    chromium_executable,
    screenshot,
)
from tests.console.stack import ConsoleStack, running_stack

__all__ = ["ConsoleStack", "screenshot"]

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents and "console_stack" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.temporal)
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def console_stack(
    tmp_path_factory: pytest.TempPathFactory, base_image: str
) -> Iterator[ConsoleStack]:
    """A real ``stepwell up`` (Temporal dev server, API, worker, Docker) for the whole session."""
    with running_stack(tmp_path_factory.mktemp("console-home")) as stack:
        yield stack


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless, launched once per session."""
    browser = playwright.chromium.launch(
        executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture
def browser_log(console_stack: ConsoleStack) -> BrowserLog:
    """What the test's ``page`` requested and which CSP violations it reported."""
    return BrowserLog(origin=console_stack.base_url)


@pytest.fixture
def page(chromium: Browser, console_stack: ConsoleStack, browser_log: BrowserLog) -> Iterator[Page]:
    """A page in a fresh browser context on the stack's origin (``page.goto("/")`` works).

    On teardown: every request went to the stack's origin, no CSP violation was reported and
    the API key was in no URL."""
    context = chromium.new_context(base_url=console_stack.base_url)
    browser_log.attach(context)
    page = context.new_page()
    browser_log.watch(page)
    yield page
    context.close()
    problems = browser_log.problems(console_stack.api_key)
    assert not problems, "the page broke the console's rules:\n  " + "\n  ".join(problems)


def sign_in(page: Page, stack: ConsoleStack) -> str:
    """Sign in through the console's form; returns the workspace name the nav then shows."""
    workspace = str(stack.api.get("/v1/workspace").raise_for_status().json()["name"])
    page.goto("/")
    page.get_by_label("API key").fill(stack.api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation")).to_contain_text(workspace)
    return workspace


@pytest.fixture
def signed_in(page: Page, console_stack: ConsoleStack) -> Page:
    """``page``, signed in through the console's form (the nav shows the workspace name)."""
    sign_in(page, console_stack)
    return page
