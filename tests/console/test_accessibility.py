"""Every page of the console, with real data on a real stack, checked by axe-core in Chromium
(WCAG 2 A/AA and best practices: no violation of impact serious or critical), and the builder
used with the keyboard alone: open a flow, select a step, change a literal input, save."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.console.axe import assert_no_serious_violations
from tests.console.browser import sign_in
from tests.console.flows import lead_definition, saved_flow, visit
from tests.console.runs_helpers import start_run, wait_closed
from tests.console.stack import ConsoleStack

SECRET = "A11Y_TOKEN"
MAX_TABS = 80


@dataclass(frozen=True)
class Data:
    """What the pages show: a flow with two versions, a webhook, a schedule, a run that
    succeeded and one that failed."""

    flow_id: str
    run_id: str
    failed_run_id: str


@pytest.fixture(scope="module")
def data(console_stack: ConsoleStack) -> Data:
    api = console_stack.api
    flow = saved_flow(console_stack)
    changed = lead_definition(flow["name"])
    changed["steps"][1]["timeout_s"] = 7
    body = {"definition": changed, "base_version": 1}
    api.put(f"/v1/flows/{flow['id']}", json=body).raise_for_status()
    api.put(f"/v1/flows/{flow['id']}/webhook", json={"signed": True}).raise_for_status()
    schedule = {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin", "payload": {"values": [1]}}
    api.post(f"/v1/flows/{flow['id']}/schedules", json=schedule).raise_for_status()
    api.put(f"/v1/secrets/{SECRET}", json={"value": "never shown"}).raise_for_status()
    run_id = start_run(api, flow["id"], {"company": "Axe Corp", "values": [10, 90]})
    # math.stats refuses a string for its numbers: a failed step with its error.
    failed_run_id = start_run(api, flow["id"], {"company": "Axe Corp", "values": "many"})
    assert wait_closed(api, run_id)["status"] == "succeeded"
    assert wait_closed(api, failed_run_id)["status"] == "failed"
    return Data(flow_id=flow["id"], run_id=run_id, failed_run_id=failed_run_id)


Ready = Callable[[Page], Locator]


def _heading(name: str) -> Ready:
    return lambda page: page.get_by_role("heading", name=name, level=1)


def _builder_with_step(page: Page) -> Locator:
    page.get_by_role("button", name="Edit step clean").click()
    return page.get_by_label("Step id", exact=True)


# Route (with {flow} and {run} filled in), what shows once the page has its data.
PAGES: dict[str, tuple[str, Ready]] = {
    "flows list": ("/flows", lambda page: page.get_by_role("table", name="Flows")),
    "builder, new flow": ("/flows/new", _heading("New flow")),
    "builder, a step selected": ("/flows/{flow}", _builder_with_step),
    "versions": (
        "/flows/{flow}/versions",
        lambda page: page.get_by_label("Changes from version 1 to version 2"),
    ),
    "triggers": (
        "/flows/{flow}/triggers",
        lambda page: page.get_by_label("Next fire times").get_by_role("listitem").first,
    ),
    "run by hand": ("/flows/{flow}/run", lambda page: page.get_by_label("Trigger input")),
    "runs list": ("/runs", lambda page: page.get_by_role("table", name="Runs")),
    "run page": ("/runs/{run}", lambda page: page.get_by_role("table", name="Step executions")),
    "run page, failed": ("/runs/{failed_run}", lambda page: page.get_by_label("Run error")),
    "catalogue": ("/steps", lambda page: page.get_by_role("link", name="Slugify text")),
    "step page": ("/steps/text.slugify", lambda page: page.get_by_label("Versions")),
    "secrets": ("/secrets", lambda page: page.get_by_role("cell", name=SECRET, exact=True)),
}


def test_the_sign_in_page_has_no_serious_accessibility_violation(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_label("API key")).to_be_visible()
    assert_no_serious_violations(page, "the sign-in page")


@pytest.mark.parametrize("name", list(PAGES))
def test_a_console_page_has_no_serious_accessibility_violation(
    name: str, page: Page, console_stack: ConsoleStack, data: Data
) -> None:
    route, ready = PAGES[name]
    sign_in(page, console_stack)
    visit(page, route.format(flow=data.flow_id, run=data.run_id, failed_run=data.failed_run_id))
    expect(ready(page)).to_be_visible()
    assert_no_serious_violations(page, f"the {name} page ({route})")


def _is_focused(locator: Locator) -> bool:
    return bool(locator.evaluate("(element) => element === document.activeElement"))


# Whether the target comes after the focused element in the document (Tab) or before it.
FOLLOWS_FOCUS = """(element) => {
  const focused = document.activeElement || document.body;
  return Boolean(focused.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_FOLLOWING);
}"""


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab (Shift+Tab when ``target`` comes before the focus) until ``target`` has it."""
    key = "Tab" if target.evaluate(FOLLOWS_FOCUS) else "Shift+Tab"
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        if _is_focused(target):
            return
    raise AssertionError(f"{MAX_TABS} presses of {key} never reached {target}")


FOCUS_STYLE = """(element) => {
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return {
    focusVisible: element.matches(":focus-visible"),
    ring: outline || style.boxShadow !== "none",
  };
}"""


def assert_focus_visible(target: Locator) -> None:
    shown: dict[str, Any] = target.evaluate(FOCUS_STYLE)
    assert shown == {"focusVisible": True, "ring": True}, f"no visible focus on {target}: {shown}"


def test_a_flow_is_edited_and_saved_with_the_keyboard_alone(
    page: Page, console_stack: ConsoleStack
) -> None:
    flow = saved_flow(console_stack)
    sign_in(page, console_stack)
    visit(page, "/flows")

    link = page.get_by_role("link", name=flow["name"], exact=True)
    tab_to(page, link)
    assert_focus_visible(link)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=flow["name"], level=1)).to_be_visible()

    # A step is selected from the graph (Enter on its node) or from the step list.
    node = page.get_by_role("group", name="step score", exact=True)
    tab_to(page, node)
    assert_focus_visible(node)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Edit step score")).to_have_attribute(
        "aria-current", "true"
    )
    expect(page.get_by_role("region", name="Step score")).to_be_visible()

    step = page.get_by_role("button", name="Edit step clean")
    tab_to(page, step)
    assert_focus_visible(step)
    page.keyboard.press("Enter")
    expect(step).to_have_attribute("aria-current", "true")

    max_len = page.get_by_label("Max Len", exact=True)
    tab_to(page, max_len)
    assert_focus_visible(max_len)
    page.keyboard.type("40")
    expect(page.get_by_role("status").filter(has_text="No problems found.")).to_be_visible()

    keep_going = page.get_by_label("Continue the flow when this step fails")
    tab_to(page, keep_going)
    assert_focus_visible(keep_going)
    page.keyboard.press("Space")
    expect(keep_going).to_be_checked()

    # The editor's tabs: one tab stop, the arrow keys switch between the views.
    visual = page.get_by_role("tab", name="Visual editor")
    tab_to(page, visual)
    assert_focus_visible(visual)
    page.keyboard.press("ArrowRight")
    json_tab = page.get_by_role("tab", name="JSON")
    expect(json_tab).to_be_focused()
    expect(json_tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_label("Definition (JSON)")).to_have_value(re.compile(r'"max_len": 40'))
    page.keyboard.press("ArrowLeft")
    expect(visual).to_be_focused()
    expect(page.get_by_label("Max Len", exact=True)).to_have_value("40")

    save = page.get_by_role("button", name="Save", exact=True)
    tab_to(page, save)
    assert_focus_visible(save)
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Saved as version 2.")).to_be_visible()

    saved = console_stack.api.get(f"/v1/flows/{flow['id']}/versions/2").raise_for_status()
    clean = saved.json()["definition"]["steps"][0]
    assert clean["with"] == {"text": "{{ trigger.company }}", "max_len": 40}
    assert clean["on_error"] == "continue"
    assert re.fullmatch(r".*/#/flows/" + flow["id"], page.url)
