"""The flows list (/flows) in Chromium against the real stack: each flow's name, description,
latest version, enabled state and update time; disable and enable; delete after confirming;
New flow leads to the builder."""

from __future__ import annotations

import re

from playwright.sync_api import Dialog, Page, expect

from tests.console.browser import screenshot
from tests.console.flows import lead_definition, saved_flow, visit
from tests.console.stack import ConsoleStack


def test_flows_list_shows_a_flow_and_enables_disables_and_deletes_it(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    flow = saved_flow(console_stack, lead_definition())
    visit(page, "/flows")
    name_link = page.get_by_role("link", name=flow["name"], exact=True)
    row = page.get_by_role("row").filter(has=name_link)
    expect(row).to_contain_text(flow["description"])
    expect(row).to_contain_text("v1")
    expect(row).to_contain_text("enabled")
    screenshot(page, "flows-list")

    row.get_by_role("button", name=f"Disable {flow['name']}").click()
    expect(row).to_contain_text("disabled")
    flow_url = f"/v1/flows/{flow['id']}"
    assert console_stack.api.get(flow_url).json()["enabled"] is False
    row.get_by_role("button", name=f"Enable {flow['name']}").click()
    expect(row.get_by_role("button", name=f"Disable {flow['name']}")).to_be_visible()
    assert console_stack.api.get(flow_url).json()["enabled"] is True

    questions: list[str] = []

    def answer(dialog: Dialog) -> None:
        questions.append(dialog.message)
        # the first time: think again (nothing is deleted); then: yes
        dialog.dismiss() if len(questions) == 1 else dialog.accept()

    page.on("dialog", answer)
    row.get_by_role("button", name=f"Delete {flow['name']}").click()
    expect(row).to_be_visible()
    assert console_stack.api.get(flow_url).status_code == 200
    row.get_by_role("button", name=f"Delete {flow['name']}").click()
    expect(row).to_have_count(0)
    assert console_stack.api.get(flow_url).status_code == 404
    assert questions and flow["name"] in questions[0]


def test_new_flow_leads_to_the_builder(signed_in: Page) -> None:
    page = signed_in
    visit(page, "/flows")
    page.get_by_role("link", name="New flow", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/flows/new$"))


def test_a_flow_leads_to_its_triggers_and_its_run_by_hand_form(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    flow = saved_flow(console_stack)
    visit(page, "/flows")
    page.get_by_role("link", name=f"Triggers of {flow['name']}").click()
    expect(page).to_have_url(re.compile(f"#/flows/{flow['id']}/triggers$"))
    expect(page.get_by_role("heading", name="Webhook")).to_be_visible()
    visit(page, "/flows")
    page.get_by_role("link", name=f"Run {flow['name']} by hand").click()
    expect(page).to_have_url(re.compile(f"#/flows/{flow['id']}/run$"))
    expect(page.get_by_role("button", name="Start run")).to_be_visible()
