"""The builder's JSON view never loses or hides what was typed: while its text does not parse,
Save is refused (saying why) and so is leaving the JSON view; once it parses, what is saved is
what the text says (review 13, item 1)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.console.builder_ui import definition_of, save_lead_via_api, unique
from tests.console.stack import ConsoleStack


def test_save_is_refused_while_the_json_does_not_parse(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    flow_id = save_lead_via_api(console_stack, unique("lead-broken-json"))
    page.goto(f"/#/flows/{flow_id}")
    page.get_by_role("tab", name="JSON").click()
    source = page.get_by_label("Definition (JSON)")
    good = source.input_value().replace('"concurrency": 3', '"concurrency": 4')
    source.fill(good)
    # The closing quote of a key dropped: the text no longer parses.
    broken = good.replace('"concurrency":', '"concurrency:', 1)
    source.fill(broken)
    expect(page.get_by_role("alert").filter(has_text="The JSON does not parse")).to_be_visible()

    page.get_by_role("button", name="Save", exact=True).click()
    refusal = page.get_by_role("alert").filter(has_text="Not saved: the JSON does not parse")
    expect(refusal).to_contain_text("line")
    # Refused before any request: the flow is still at version 1.
    assert console_stack.api.get(f"/v1/flows/{flow_id}").json()["latest_version"] == 1
    expect(source).to_have_value(broken)


def test_leaving_the_json_view_is_refused_while_it_does_not_parse(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    name = unique("lead-json-switch")
    flow_id = save_lead_via_api(console_stack, name)
    page.goto(f"/#/flows/{flow_id}")
    page.get_by_role("tab", name="JSON").click()
    source = page.get_by_label("Definition (JSON)")
    good = source.input_value().replace('"concurrency": 3', '"concurrency": 4')
    broken = good.replace('"concurrency":', '"concurrency:', 1)
    source.fill(broken)

    # Every way to the visual editor says why not and keeps the text: the tab, the step list,
    # the palette.
    page.get_by_role("tab", name="Visual editor").click()
    refusal = page.get_by_role("alert").filter(has_text="Still in the JSON view")
    expect(refusal).to_contain_text("your text is kept")
    expect(page.get_by_role("tab", name="JSON")).to_have_attribute("aria-selected", "true")
    expect(source).to_have_value(broken)
    page.get_by_role("button", name="Edit step clean").click()
    expect(page.get_by_role("tab", name="JSON")).to_have_attribute("aria-selected", "true")
    expect(source).to_have_value(broken)
    page.get_by_label("Search steps").fill("slug")
    page.get_by_role("button", name="Add Slugify").first.click()
    expect(source).to_have_value(broken)
    expect(refusal).to_be_visible()

    # Fixed, it switches, and Save stores what the text said.
    source.fill(good)
    expect(refusal).to_have_count(0)
    page.get_by_role("tab", name="Visual editor").click()
    page.get_by_role("button", name="Edit step each").click()
    expect(page.get_by_label("Concurrency")).to_have_value("4")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2.")).to_be_visible()
    assert definition_of(console_stack, flow_id)["steps"][3]["concurrency"] == 4
