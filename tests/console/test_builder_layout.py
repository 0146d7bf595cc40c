"""The builder's layout: a very long step id wraps or ends in an ellipsis everywhere it shows
instead of widening the page; the JSON view's label sits above it; a flow output's name, value
and Remove button are level; every page about one flow marks its own tab (review 13, items 7
and 9)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.console.browser import sign_in
from tests.console.builder_ui import add_step, lead_definition, save_lead_via_api, unique
from tests.console.stack import ConsoleStack

WIDTH = 1280
LONG_ID = "a" * 200


@pytest.fixture
def signed_in(page: Page, console_stack: ConsoleStack) -> Page:
    page.set_viewport_size({"width": WIDTH, "height": 900})
    sign_in(page, console_stack)
    return page


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not laid out"
    return {key: float(found[key]) for key in ("x", "y", "width", "height")}


def expect_within_page(page: Page, *locators: Locator) -> None:
    """Nothing is wider than the window: neither the page nor any of ``locators``."""
    for locator in locators:
        expect(locator).to_be_visible()
        assert box(locator)["x"] + box(locator)["width"] <= WIDTH, locator
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_a_long_step_id_does_not_widen_the_page(signed_in: Page) -> None:
    page = signed_in
    page.goto("/#/flows/new")
    page.get_by_role("tab", name="JSON").click()
    definition = lead_definition("long-ids")
    definition["steps"][0]["id"] = LONG_ID
    definition["steps"][3]["with"]["text"] = "{{ steps." + LONG_ID + ".output.slug }}"
    page.get_by_label("Definition (JSON)").fill(json.dumps(definition))
    page.get_by_role("tab", name="Visual editor").click()
    page.get_by_role("button", name="Edit step each").click()

    listed = page.get_by_role("button", name=f"Edit step {LONG_ID}")
    elsewhere = page.get_by_role("region", name="Problems elsewhere")
    select = elsewhere.get_by_role("button", name=f"Select step {LONG_ID}").first
    node = page.get_by_role("region", name="Flow graph").get_by_text(LONG_ID, exact=True)
    expect_within_page(page, listed, select, node)
    # In the graph the id ends in an ellipsis inside its node (the whole id is its tooltip).
    assert node.evaluate("el => el.scrollWidth > el.clientWidth")
    expect(node).to_have_attribute("title", LONG_ID)

    select.click()
    editor = page.get_by_role("region", name=f"Step {LONG_ID}")
    expect_within_page(
        page,
        editor.get_by_role("heading", name=f"Step {LONG_ID}"),
        editor.get_by_role("button", name=f"Remove step {LONG_ID}"),
    )


def test_the_json_views_label_is_above_it(signed_in: Page) -> None:
    page = signed_in
    page.goto("/#/flows/new")
    page.get_by_role("tab", name="JSON").click()
    source = page.get_by_label("Definition (JSON)")
    label = page.locator("label", has_text="Definition (JSON)")
    expect(source).to_be_visible()
    assert box(label)["y"] + box(label)["height"] <= box(source)["y"]
    assert box(label)["x"] == box(source)["x"]


def test_flow_output_rows_are_level(signed_in: Page) -> None:
    page = signed_in
    page.goto("/#/flows/new")
    add_step(page, "slug", "text.slugify", "clean")
    page.get_by_role("button", name="Flow settings").click()
    for _ in range(2):
        page.get_by_role("button", name="Add output").click()
    # A problem under the first value must not push its row's other controls out of line.
    page.get_by_label("Output 1 value").fill("{{ steps.missing.output }}")
    value = page.get_by_label("Output 1 value")
    expect(value).to_have_attribute("aria-invalid", "true")
    lefts: list[tuple[float, float, float]] = []
    for number in (1, 2):
        name = box(page.get_by_label(f"Output {number} name"))
        value_box = box(page.get_by_label(f"Output {number} value"))
        remove = page.get_by_role(
            "button",
            name=f"Remove output {'result' if number == 1 else 'result_2'}",
            exact=True,
        )
        remove_box = box(remove)
        assert name["y"] == value_box["y"]
        # In this order, side by side, the button no taller than two lines.
        assert name["x"] + name["width"] < value_box["x"]
        assert value_box["x"] + value_box["width"] < remove_box["x"]
        assert remove_box["height"] < 2 * value_box["height"]
        middle = value_box["y"] + value_box["height"] / 2
        assert abs(remove_box["y"] + remove_box["height"] / 2 - middle) <= 2
        lefts.append((name["x"], value_box["x"], remove_box["x"]))
    # The rows' columns line up with each other.
    assert lefts[0] == lefts[1]


@pytest.mark.parametrize(
    ("route", "tab"),
    [
        ("", "Builder"),
        ("/versions", "Versions"),
        ("/triggers", "Triggers"),
        ("/run", "Run by hand"),
    ],
)
def test_each_flow_page_marks_its_own_tab(
    signed_in: Page, console_stack: ConsoleStack, route: str, tab: str
) -> None:
    page = signed_in
    flow_id = save_lead_via_api(console_stack, unique("lead-tabs"))
    page.goto(f"/#/flows/{flow_id}{route}")
    tabs = page.get_by_role("navigation", name="Flow sections")
    expect(tabs.get_by_role("link", name=tab, exact=True)).to_have_attribute("aria-current", "page")
    expect(tabs.locator('[aria-current="page"]')).to_have_count(1)
