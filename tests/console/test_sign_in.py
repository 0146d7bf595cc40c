"""Signing in to the console with an API key, in Chromium against the real stack: the API's own
words for a wrong key, the workspace for the right one, a session that lasts as long as the
browser session, sign-out, and the key kept out of URLs, storage that outlives the tab, and
``stepwell up``'s output (the ``page`` fixtures check every request URL on teardown)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from tests.console.browser import screenshot, sign_in, workspace_label
from tests.console.stack import ConsoleStack

WRONG_KEY = "sw_this-key-was-never-issued-by-this-stack"


def _sign_in_form(page: Page) -> None:
    expect(page.get_by_label("API key")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_wrong_key_shows_the_apis_own_error_message(
    page: Page, console_stack: ConsoleStack
) -> None:
    answer = httpx.get(
        f"{console_stack.base_url}/v1/workspace", headers={"Authorization": f"Bearer {WRONG_KEY}"}
    )
    assert answer.status_code == 401
    message = answer.json()["error"]["message"]
    page.goto("/")
    page.get_by_label("API key").fill(WRONG_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text(message)
    _sign_in_form(page)
    screenshot(page, "sign-in-wrong-key")


def test_the_right_key_shows_the_workspace(signed_in: Page, console_stack: ConsoleStack) -> None:
    workspace = console_stack.api.get("/v1/workspace").json()["name"]
    expect(workspace_label(signed_in)).to_have_text(workspace)
    expect(signed_in.get_by_label("API key")).to_have_count(0)
    screenshot(signed_in, "signed-in")


def test_a_reload_keeps_the_session(signed_in: Page, console_stack: ConsoleStack) -> None:
    workspace = console_stack.api.get("/v1/workspace").json()["name"]
    signed_in.reload()
    expect(workspace_label(signed_in)).to_have_text(workspace)
    expect(signed_in.get_by_label("API key")).to_have_count(0)


def test_another_browser_session_must_sign_in_again(
    signed_in: Page, new_page: Callable[[], Page]
) -> None:
    other = new_page()
    other.goto("/")
    _sign_in_form(other)
    expect(workspace_label(other)).to_have_count(0)


def test_signing_out_forgets_the_key(signed_in: Page, console_stack: ConsoleStack) -> None:
    signed_in.get_by_role("button", name="Sign out").click()
    _sign_in_form(signed_in)
    stored = signed_in.evaluate(
        "() => [sessionStorage, localStorage].flatMap((s) => Object.values({...s}))"
    )
    assert console_stack.api_key not in str(stored)
    signed_in.reload()
    _sign_in_form(signed_in)


def test_the_key_is_kept_for_the_tab_only(signed_in: Page, console_stack: ConsoleStack) -> None:
    """sessionStorage only: no cookie and nothing in localStorage outlives the browser session."""
    assert signed_in.context.cookies() == []
    kept = signed_in.evaluate("() => Object.values({...localStorage})")
    assert console_stack.api_key not in str(kept)


def test_stepwell_up_never_prints_a_key_after_its_summary(
    page: Page, new_page: Callable[[], Page], console_stack: ConsoleStack
) -> None:
    sign_in(page, console_stack)
    page.reload()
    expect(workspace_label(page)).to_be_visible()
    wrong = new_page()
    wrong.goto("/")
    wrong.get_by_label("API key").fill(WRONG_KEY)
    wrong.get_by_role("button", name="Sign in").click()
    expect(wrong.get_by_role("alert")).to_be_visible()
    printed = console_stack.output_after_summary()
    assert console_stack.api_key not in printed, printed
    assert WRONG_KEY not in printed, printed
