"""A key revoked while the console is open, in Chromium against the real stack: the next
request's 401 shows "Your API key was refused — sign in again" with a button back to the sign-in
form, which then returns to the same page; the run page whose key was revoked mid-run shows the
failed read, not a finished run with no end time."""

from __future__ import annotations

import uuid

from playwright.sync_api import Locator, Page, expect

from tests.console.browser import screenshot, workspace_label
from tests.console.runs_helpers import SLEEPER, push_step, save_flow, sleep_flow, start_run
from tests.console.stack import ConsoleStack

LONG_MS = 120_000  # a run's container can take a while to start on a busy machine
REFUSED = "Your API key was refused — sign in again."


def _new_key(stack: ConsoleStack) -> tuple[str, str]:
    """Another key of the default workspace: (its id, the key)."""
    body = {"name": f"revoked-in-test-{uuid.uuid4().hex[:6]}"}
    created = stack.api.post("/v1/keys", json=body).raise_for_status().json()
    return str(created["id"]), str(created["key"])


def _sign_in_with(page: Page, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(workspace_label(page)).to_be_visible()


def _refused(page: Page) -> Locator:
    alert = page.get_by_role("alert", name="API key refused")
    expect(alert).to_contain_text(REFUSED)
    return alert


def test_a_revoked_key_offers_to_sign_in_again_and_comes_back_to_the_page(
    page: Page, console_stack: ConsoleStack
) -> None:
    key_id, key = _new_key(console_stack)
    page.goto("/#/flows")
    _sign_in_with(page, key)
    expect(page.get_by_role("heading", name="Flows")).to_be_visible()
    console_stack.api.delete(f"/v1/keys/{key_id}").raise_for_status()

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Catalogue").click()
    alert = _refused(page)
    screenshot(page, "key-refused")
    alert.get_by_role("button", name="Sign in again").click()
    expect(page.get_by_role("status")).to_contain_text("The API refused your key")
    _sign_in_with(page, console_stack.api_key)
    expect(page.get_by_role("heading", name="Catalogue", level=1)).to_be_visible()
    expect(page.get_by_role("alert", name="API key refused")).to_have_count(0)


def test_a_run_page_whose_key_is_revoked_mid_run_shows_the_failed_read(
    page: Page, console_stack: ConsoleStack
) -> None:
    api = console_stack.api
    push_step(api, SLEEPER)
    run_id = start_run(api, save_flow(api, sleep_flow(6)), {"why": "revoked"})
    key_id, key = _new_key(console_stack)
    page.goto(f"/#/runs/{run_id}")
    _sign_in_with(page, key)
    status = page.get_by_role("status", name="Run status")
    expect(status).to_have_text("running")
    expect(page.get_by_text("live", exact=True)).to_be_visible()
    api.delete(f"/v1/keys/{key_id}").raise_for_status()

    _refused(page)
    facts = page.get_by_label("Run facts")
    # the open stream still says how the run ended, but the run cannot be read again: its end
    # time and duration are said to be unknown, with the read's error above them
    expect(status).to_have_text("succeeded", timeout=LONG_MS)
    expect(facts).to_contain_text("not known: the run could not be read", timeout=LONG_MS)
    expect(
        page.get_by_role("alert").filter(has_text="The run could not be read again")
    ).to_contain_text("invalid or revoked API key")
    screenshot(page, "run-key-refused")

    _refused(page).get_by_role("button", name="Sign in again").click()
    _sign_in_with(page, console_stack.api_key)
    expect(status).to_have_text("succeeded")
    expect(facts).not_to_contain_text("not known")
    expect(facts).not_to_contain_text("—")
