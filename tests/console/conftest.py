"""The browser-test harness: a real ``stepwell up`` (``console_stack``), Debian's Chromium
(``chromium``), a fresh page per test that checks where its requests went (``page``; more of
them, each its own browser session: ``new_page()``), the same page signed in through the
console's form (``signed_in``). Helpers for tests, in tests.console.browser: ``sign_in(page,
stack)``, ``workspace_label(page)`` and ``screenshot(page, name)``.

Every test using ``console_stack`` is marked ``temporal`` and ``docker``. Browser tests are plain
``def`` tests, in modules with no async test (Playwright's sync API holds an event loop)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.console.browser import (
    CHROMIUM_ARGS,
    BrowserLog,
    chromium_executable,
    screenshot,
    sign_in,
    workspace_label,
)
from tests.console.stack import ConsoleStack, running_stack

__all__ = ["ConsoleStack", "screenshot", "sign_in", "workspace_label"]

HERE = Path(__file__).resolve().parent
# Upper bounds for Playwright's auto-waiting (it goes on as soon as the condition holds), wide
# enough for a stack that shares two cores with step containers.
WAIT_MS = 15_000
expect.set_options(timeout=WAIT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents and "console_stack" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.temporal)
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def console_stack(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient, base_image: str
) -> Iterator[ConsoleStack]:
    """A real ``stepwell up`` (Temporal dev server, API, worker, Docker) for the whole session."""
    with running_stack(tmp_path_factory.mktemp("console-home"), docker_client) as stack:
        yield stack


# Module scope, not session: while Playwright's sync API is started it holds an event loop on
# the main thread, and every async test (pytest-asyncio) after it would fail with "cannot be
# called from a running event loop". Stopping it after each module of browser tests keeps the
# rest of the suite working; a module of browser tests must hold no async test.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless, launched once per test module."""
    browser = playwright.chromium.launch(
        executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture
def browser_log(console_stack: ConsoleStack) -> BrowserLog:
    """What the test's ``page`` requested and which CSP violations it reported."""
    return BrowserLog(origin=console_stack.base_url)


def _open(chromium: Browser, stack: ConsoleStack, log: BrowserLog) -> tuple[BrowserContext, Page]:
    context = chromium.new_context(base_url=stack.base_url)
    context.set_default_timeout(WAIT_MS)
    log.attach(context)
    page = context.new_page()
    log.watch(page)
    return context, page


def _check(logs: list[BrowserLog], stack: ConsoleStack) -> None:
    problems = [problem for log in logs for problem in log.problems(stack.api_key)]
    assert not problems, "the page broke the console's rules:\n  " + "\n  ".join(problems)


@pytest.fixture
def page(chromium: Browser, console_stack: ConsoleStack, browser_log: BrowserLog) -> Iterator[Page]:
    """A page in a fresh browser context on the stack's origin (``page.goto("/")`` works).

    On teardown: every request went to the stack's origin, no CSP violation was reported and
    the API key was in no URL."""
    context, page = _open(chromium, console_stack, browser_log)
    yield page
    context.close()
    _check([browser_log], console_stack)


@pytest.fixture
def new_page(chromium: Browser, console_stack: ConsoleStack) -> Iterator[Callable[[], Page]]:
    """``new_page()`` opens another page in another fresh browser context (another browser
    session: nothing shared with ``page``), checked on teardown like ``page``."""
    opened: list[tuple[BrowserContext, BrowserLog]] = []

    def open_page() -> Page:
        log = BrowserLog(origin=console_stack.base_url)
        context, page = _open(chromium, console_stack, log)
        opened.append((context, log))
        return page

    yield open_page
    for context, _log in opened:
        context.close()
    _check([log for _context, log in opened], console_stack)


@pytest.fixture
def signed_in(page: Page, console_stack: ConsoleStack) -> Page:
    """``page``, signed in through the console's form (the top bar shows the workspace name)."""
    sign_in(page, console_stack)
    return page
