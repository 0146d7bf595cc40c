"""What the builder tests do through the console, by role and label only."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.console.stack import ConsoleStack

LEAD = Path(__file__).resolve().parents[2] / "examples" / "flows" / "lead.json"


def lead_definition(name: str | None = None) -> dict[str, Any]:
    """examples/flows/lead.json, under another name when given."""
    definition: dict[str, Any] = json.loads(LEAD.read_text())
    if name is not None:
        definition["name"] = name
    return definition


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def save_lead_via_api(stack: ConsoleStack, name: str) -> str:
    """The example flow saved under ``name`` through the API; returns its id."""
    answer = stack.api.post("/v1/flows", json={"definition": lead_definition(name)})
    return str(answer.raise_for_status().json()["id"])


def definition_of(stack: ConsoleStack, flow_id: str) -> dict[str, Any]:
    answer = stack.api.get(f"/v1/flows/{flow_id}").raise_for_status().json()
    return dict(answer["definition"])


def add_step(page: Page, search: str, step_name: str, step_id: str) -> None:
    """Adds ``step_name`` from the palette and gives it the id ``step_id``."""
    page.get_by_label("Search steps").fill(search)
    # The palette's buttons are named by what they show: "Add Slugify text text.slugify@1.0.0".
    added = re.compile(rf"^Add .* {re.escape(step_name)}@")
    page.get_by_role("button", name=added).click()
    page.get_by_label("Step id", exact=True).fill(step_id)
    expect(page.get_by_role("button", name=f"Edit step {step_id}")).to_be_visible()


def input_field(page: Page, title: str, required: bool = False) -> Locator:
    """A step input by its schema title (rjsf marks required ones with `*`)."""
    return page.get_by_label(title + ("*" if required else ""), exact=True)


def set_expression(page: Page, title: str, expression: str, required: bool = False) -> None:
    """Switches input ``title`` to expression mode and types ``expression``."""
    page.get_by_label(f"{title} is an expression", exact=True).check()
    input_field(page, title, required).fill(expression)


def expect_no_problems(page: Page) -> None:
    expect(page.get_by_role("status").filter(has_text="No problems found.")).to_be_visible()


def expect_problem_on(field: Locator, message: str) -> None:
    """``field`` is marked invalid and described (aria-describedby) by ``message``."""
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(re.escape(message)))
