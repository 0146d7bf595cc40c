"""The catalogue (/steps, /steps/:name) in Chromium against the real stack: the example steps
with their schemas and examples as the API has them, search, and a step of its own with a
deprecated version marked, the secrets it wants and the hosts it talks to."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from playwright.sync_api import Page, expect

from tests.api.step_bundles import bundle_bytes
from tests.console.browser import screenshot
from tests.console.flows import visit
from tests.console.stack import ConsoleStack


def _push(stack: ConsoleStack, name: str, version: str, **fields: Any) -> dict[str, Any]:
    files = {"bundle": ("step.tgz", bundle_bytes(name, version, **fields), "application/gzip")}
    pushed: dict[str, Any] = stack.api.post("/v1/steps", files=files).raise_for_status().json()
    return pushed


def test_the_catalogue_shows_the_example_steps_with_their_schemas_and_examples(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    visit(page, "/steps")
    steps = page.get_by_role("table", name="Steps")
    expect(steps.get_by_role("link", name="Slugify text")).to_be_visible()
    expect(steps.get_by_role("link", name="Summary statistics")).to_be_visible()

    page.get_by_label("Search steps").fill("slug")
    expect(steps.get_by_role("link", name="Summary statistics")).to_have_count(0)
    page.get_by_label("Search steps").fill("no step is called like this")
    expect(page.get_by_text('No step matches "no step is called like this".')).to_be_visible()
    page.get_by_label("Search steps").fill("slug")
    steps.get_by_role("link", name="Slugify text").click()
    expect(page).to_have_url(re.compile(r"#/steps/text\.slugify$"))

    detail = console_stack.api.get("/v1/steps/text.slugify/versions/1.0.0").json()
    expect(page.get_by_role("heading", name=re.compile("Slugify text"), level=2)).to_be_visible()
    shown = page.get_by_label("Input schema", exact=True)
    assert json.loads(shown.inner_text()) == detail["input_schema"]
    assert json.loads(page.get_by_label("Output schema").inner_text()) == detail["output_schema"]
    assert detail["examples"], "text.slugify has examples"
    for index, example in enumerate(detail["examples"], start=1):
        example_input = page.get_by_label(f"Example {index} input")
        assert json.loads(example_input.inner_text()) == example["input"]
        example_output = page.get_by_label(f"Example {index} output")
        assert json.loads(example_output.inner_text()) == example["output"]
    expect(page.get_by_text("text.slugify@1.0.0", exact=True)).to_be_visible()
    expect(page.get_by_text(f"timeout {detail['limits']['timeout_s']:g} s")).to_be_visible()
    expect(page.get_by_text("no network at all")).to_be_visible()
    screenshot(page, "catalogue-step")


def test_a_deprecated_version_is_marked_and_a_step_shows_its_secrets_and_hosts(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    name = f"console.test_{uuid.uuid4().hex[:8]}"
    _push(console_stack, name, "1.0.0", title="Old echo")
    _push(
        console_stack, name, "2.0.0", title="New echo",
        secrets=["API_TOKEN"], egress=["api.example.com"],
    )  # fmt: skip
    deprecate = f"/v1/steps/{name}/versions/1.0.0/deprecate"
    console_stack.api.post(deprecate, json={"message": "use 2.0.0"}).raise_for_status()

    visit(page, "/steps")
    page.get_by_label("Search steps").fill(name)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="New echo"))
    expect(row).to_contain_text("2.0.0")
    expect(row).to_contain_text("2 versions")
    expect(row).to_contain_text("api.example.com")
    row.get_by_role("link", name="New echo").click()

    versions = page.get_by_role("table", name="Versions")
    old = versions.get_by_role("row").filter(has_text="Old echo")
    expect(old).to_contain_text("deprecated: use 2.0.0")
    expect(versions.get_by_role("row").filter(has_text="New echo")).to_contain_text("current")
    # the version shown first is the newest one not deprecated
    expect(page.get_by_role("heading", level=2, name=re.compile("New echo 2.0.0"))).to_be_visible()
    expect(page.get_by_text("API_TOKEN", exact=True)).to_be_visible()
    network_added = page.locator("dd.warning")
    expect(network_added).to_have_text("api.example.com")
    screenshot(page, "catalogue-versions")

    old.get_by_role("button", name="Show version 1.0.0").click()
    heading = page.get_by_role("heading", level=2, name=re.compile("Old echo 1.0.0"))
    expect(heading).to_contain_text("deprecated")
    expect(page.get_by_role("note")).to_contain_text("Deprecated: use 2.0.0")
