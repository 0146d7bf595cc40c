"""Step inputs in the builder: an input whose schema rjsf cannot render (json.transform's
`data`, any JSON value) is a JSON literal editor with the literal/expression switch, and a
missing required input's problem is shown on that input (review 13, items 3 and 9)."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.console.builder_ui import (
    add_step,
    expect_problem_on,
    input_field,
    set_expression,
)


def shown_definition(page: Page) -> dict:  # type: ignore[type-arg]
    page.get_by_role("tab", name="JSON").click()
    shown: dict = json.loads(page.get_by_label("Definition (JSON)").input_value())  # type: ignore[type-arg]
    page.get_by_role("tab", name="Visual editor").click()
    return shown


def test_an_input_of_any_json_value_is_typed_as_json(signed_in: Page) -> None:
    page = signed_in
    page.goto("/#/flows/new")
    add_step(page, "transform", "json.transform", "shape")
    editor = page.get_by_role("region", name="Step shape")
    expect(editor).not_to_contain_text("Unsupported field schema")
    data = input_field(page, "Data", required=True)
    # A required input that is missing: its problem is on it, not under the inputs.
    expect_problem_on(data, "missing required input 'data'")

    data.fill('{"people": [{"name": "Ada"}]}')
    expect(data).not_to_have_attribute("aria-invalid", "true")
    input_field(page, "Expression", required=True).fill("people[0].name")
    assert shown_definition(page)["steps"][0]["with"] == {
        "data": {"people": [{"name": "Ada"}]},
        "expression": "people[0].name",
    }

    # A value typed in the JSON view shows in the field.
    page.get_by_role("tab", name="JSON").click()
    source = page.get_by_label("Definition (JSON)")
    definition = json.loads(source.input_value())
    definition["steps"][0]["with"]["data"] = [1, "two"]
    source.fill(json.dumps(definition))
    page.get_by_role("tab", name="Visual editor").click()
    page.get_by_role("button", name="Edit step shape").click()
    expect(data).to_have_value(json.dumps([1, "two"], indent=2))

    # Text that does not parse: the problem on the field, and Save says why it will not save.
    data.fill('{"a": 1')
    expect_problem_on(data, "not JSON")
    # Kept as typed in the draft when the page is left and opened again.
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Runs").click()
    page.go_back()
    page.get_by_role("button", name="Edit step shape").click()
    expect(data).to_have_value('{"a": 1')
    expect_problem_on(data, "not JSON")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="Not saved")).to_contain_text(
        "input data of step shape does not parse as JSON"
    )

    # The same input as an expression.
    set_expression(page, "Data", "{{ trigger.payload }}", required=True)
    assert shown_definition(page)["steps"][0]["with"]["data"] == "{{ trigger.payload }}"


def test_a_missing_required_input_is_shown_on_its_field(signed_in: Page) -> None:
    page = signed_in
    page.goto("/#/flows/new")
    add_step(page, "slug", "text.slugify", "clean")
    text = input_field(page, "Text", required=True)
    expect_problem_on(text, "missing required input 'text'")
    text.fill("Hello")
    expect(text).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("region", name="Step clean")).not_to_contain_text(
        "missing required input"
    )
