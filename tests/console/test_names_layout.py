"""User-supplied names in Chromium against the real stack: bidi-isolated wherever the console
shows them (a right-to-left override in one cannot reorder the text around it), long ones wrap
instead of widening the page, and catalogue descriptions show their `code` spans as <code>
elements made of text, never as HTML."""

from __future__ import annotations

import secrets

from playwright.sync_api import Dialog, Locator, Page, expect

from tests.console.browser import screenshot
from tests.console.flows import visit
from tests.console.runs_helpers import (
    SLEEPER,
    inline_step,
    push_step,
    save_flow,
    start_run,
    wait_closed,
)
from tests.console.stack import ConsoleStack

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE, never closed
FSI, PDI = "\u2068", "\u2069"


def _isolated(locator: Locator) -> None:
    """The element is bidi-isolated: a <bdi> or `unicode-bidi: isolate`."""
    expect(locator).to_be_visible()
    assert locator.evaluate("(el) => getComputedStyle(el).unicodeBidi") == "isolate"


def _no_sideways_scroll(page: Page, where: str) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    wide = page.evaluate(
        """() => [...document.querySelectorAll("body *")]
          .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth)
          .filter((el) => !el.closest(".react-flow"))
          .slice(0, 8)
          .map((el) => `${el.tagName}.${el.className}: ${el.textContent.slice(0, 40)}`)"""
    )
    assert overflow <= 0, f"{where}: the page is {overflow} px wider than the window: {wide}"


def test_long_and_right_to_left_names_are_isolated_and_wrap(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    api = console_stack.api
    push_step(api, SLEEPER)
    tag = secrets.token_hex(3)
    long_name = f"long-{tag}-" + "n" * 80  # at most 100 with save_flow's suffix
    step_id = "s" + "t" * 50
    description = f"about {RLO}evil and " + "d" * 300
    flow_id = save_flow(
        api,
        {
            "name": long_name,
            "description": description,
            "steps": [{"id": step_id, "uses": "console.sleep@1.0.0", "with": {"seconds": 0}}],
        },
    )
    run_id = start_run(api, flow_id, {"why": "names"})
    wait_closed(api, run_id)
    # save_flow added a suffix to the name
    name = api.get(f"/v1/flows/{flow_id}").raise_for_status().json()["name"]
    page.set_viewport_size({"width": 800, "height": 900})

    visit(page, "/flows")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    _isolated(row.get_by_text(name, exact=True))
    _isolated(row.get_by_text(description, exact=True))
    _no_sideways_scroll(page, "flows list")
    asked: list[str] = []

    def refuse(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    row.get_by_role("button", name=f"Delete {name}").click()
    expect(row).to_be_visible()
    assert f'"{FSI}{name}{PDI}"' in asked[0]  # the name, isolated, inside the question
    screenshot(page, "names-flows")

    visit(page, "/runs")
    runs = page.get_by_role("table", name="Runs")
    _isolated(runs.get_by_text(name, exact=True).first)
    _isolated(runs.get_by_text(run_id, exact=True))
    _no_sideways_scroll(page, "runs list")

    visit(page, f"/runs/{run_id}")
    expect(page.get_by_role("status", name="Run status")).to_have_text("succeeded")
    header = page.locator(".run-header")
    _isolated(page.get_by_role("heading", level=1).get_by_text(name, exact=True))
    _isolated(page.get_by_label("Run facts").get_by_text(name, exact=True))
    _isolated(header.get_by_text(run_id, exact=True))
    _isolated(page.get_by_role("region", name=f"Step {step_id}").get_by_text(step_id, exact=True))
    _no_sideways_scroll(page, "run page")
    screenshot(page, "names-run")

    visit(page, f"/flows/{flow_id}/triggers")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    _no_sideways_scroll(page, "triggers page")


def test_a_secrets_long_name_wraps_and_is_isolated(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    name = f"LONG_{secrets.token_hex(4).upper()}_" + "X" * 80
    console_stack.api.put(f"/v1/secrets/{name}", json={"value": "a-long-value-1"})
    page.set_viewport_size({"width": 800, "height": 900})
    visit(page, "/secrets")
    # the first: the name in its cell (the second is in the Replace button's hidden text)
    _isolated(page.get_by_role("table", name="Secrets").get_by_text(name, exact=True).first)
    _no_sideways_scroll(page, "secrets")
    console_stack.api.delete(f"/v1/secrets/{name}").raise_for_status()


DESCRIBED = inline_step(
    "console.described",
    """
    from step_sdk import step

    @step(name="console.described", version="1.0.0")
    def main(text: str) -> dict[str, str]:
        return {"text": text}
    """,
    title="Described step",
    description=(
        "Reads `text` and returns ``a `quoted` value``, never <b>bold</b>; an unclosed ` stays."
    ),
)


def test_catalogue_descriptions_show_code_spans_as_code_text(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    push_step(console_stack.api, DESCRIBED)
    visit(page, "/steps")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Described step"))
    _code_spans_as_text(row.get_by_role("cell").nth(1))
    row.get_by_role("link", name="Described step").click()
    _code_spans_as_text(page.locator(".step-version .description"))
    screenshot(page, "catalogue-code-spans")


def _code_spans_as_text(description: Locator) -> None:
    codes = description.locator("code")
    expect(codes).to_have_text(["text", "a `quoted` value"])
    expect(description.locator("b")).to_have_count(0)  # the markup stays text
    expect(description).to_contain_text("never <b>bold</b>; an unclosed ` stays.")
    expect(description).not_to_contain_text("``")
