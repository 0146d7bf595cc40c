"""Unsaved builder work is kept as a draft in the tab's sessionStorage: restored with a notice
and a Discard button after visiting another page, and after a reload (which the browser asks
about first), even a JSON text that does not parse (review 13, items 2 and 8)."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Dialog, Page, expect

from tests.console.browser import sign_in, workspace_label
from tests.console.builder_ui import (
    add_step,
    input_field,
    save_lead_via_api,
    unique,
)
from tests.console.stack import ConsoleStack


def restored_notice(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("status", name="Unsaved changes restored")


def test_a_new_flow_is_kept_when_another_page_is_visited(signed_in: Page) -> None:
    page = signed_in
    page.goto("/#/flows/new")
    add_step(page, "slug", "text.slugify", "clean")
    add_step(page, "stats", "math.stats", "score")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Runs").click()
    expect(page).to_have_url(re.compile(r"#/runs$"))
    page.go_back()

    notice = restored_notice(page)
    expect(notice).to_contain_text("Restored your unsaved changes")
    expect(page.get_by_role("button", name="Edit step clean")).to_be_visible()
    expect(page.get_by_role("button", name="Edit step score")).to_be_visible()
    notice.get_by_role("button", name="Discard changes").click()
    expect(page.get_by_text("The canvas is empty")).to_be_visible()

    # Discarded means gone: back on the page, an empty canvas and no notice.
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Flows").click()
    expect(page).to_have_url(re.compile(r"#/flows$"))
    page.go_back()
    expect(page.get_by_text("The canvas is empty")).to_be_visible()
    expect(restored_notice(page)).to_have_count(0)


def test_a_saved_flows_changes_are_kept_across_its_tabs_until_saved(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    flow_id = save_lead_via_api(console_stack, unique("lead-draft"))
    page.goto(f"/#/flows/{flow_id}")
    page.get_by_label("Description").fill("Changed, not saved yet")
    tabs = page.get_by_role("navigation", name="Flow sections")
    tabs.get_by_role("link", name="Versions").click()
    expect(page.get_by_role("table", name="Versions")).to_be_visible()
    tabs.get_by_role("link", name="Builder").click()

    expect(restored_notice(page)).to_contain_text("Restored your unsaved changes")
    expect(page.get_by_label("Description")).to_have_value("Changed, not saved yet")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2.")).to_be_visible()
    expect(restored_notice(page)).to_have_count(0)

    # Saved: no draft left to restore.
    tabs.get_by_role("link", name="Versions").click()
    expect(page.get_by_role("table", name="Versions")).to_be_visible()
    tabs.get_by_role("link", name="Builder").click()
    expect(page.get_by_label("Description")).to_have_value("Changed, not saved yet")
    expect(restored_notice(page)).to_have_count(0)


def test_a_reload_asks_first_and_keeps_json_that_does_not_parse(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    flow_id = save_lead_via_api(console_stack, unique("lead-reload"))
    page.goto(f"/#/flows/{flow_id}")
    page.get_by_role("tab", name="JSON").click()
    source = page.get_by_label("Definition (JSON)")
    broken = source.input_value().replace('"description":', '"description:', 1)
    source.fill(broken)

    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)
    page.reload()
    assert asked == ["beforeunload"]

    expect(restored_notice(page)).to_be_visible()
    expect(page.get_by_role("tab", name="JSON")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_label("Definition (JSON)")).to_have_value(broken)
    expect(page.get_by_role("alert").filter(has_text="The JSON does not parse")).to_be_visible()


def test_work_is_kept_through_a_refused_key_and_signing_in_again(
    page: Page, console_stack: ConsoleStack
) -> None:
    body = {"name": f"revoked-in-builder-{uuid.uuid4().hex[:6]}"}
    created = console_stack.api.post("/v1/keys", json=body).raise_for_status().json()
    page.goto("/#/flows/new")
    page.get_by_label("API key").fill(created["key"])
    page.get_by_role("button", name="Sign in").click()
    expect(workspace_label(page)).to_be_visible()
    add_step(page, "slug", "text.slugify", "clean")
    console_stack.api.delete(f"/v1/keys/{created['id']}").raise_for_status()

    # The next validation is refused; signing in again comes back to the builder, work kept.
    input_field(page, "Max Len").fill("5")
    refused = page.get_by_role("alert", name="API key refused")
    refused.get_by_role("button", name="Sign in again").click()
    page.get_by_label("API key").fill(console_stack.api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(restored_notice(page)).to_be_visible()
    page.get_by_role("button", name="Edit step clean").click()
    expect(input_field(page, "Max Len")).to_have_value("5")


def test_signing_out_drops_the_drafts(signed_in: Page, console_stack: ConsoleStack) -> None:
    """The next person to sign in at this tab sees none of the previous one's unsaved work."""
    page = signed_in
    page.goto("/#/flows/new")
    add_step(page, "slug", "text.slugify", "clean")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, console_stack)
    page.goto("/#/flows/new")
    expect(page.get_by_text("The canvas is empty")).to_be_visible()
    expect(restored_notice(page)).to_have_count(0)
    left = "() => Object.keys(sessionStorage).filter((k) => k.startsWith('stepwell.builder-'))"
    assert page.evaluate(left) == []
