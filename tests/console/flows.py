"""Flows of their own for browser tests that share one stack: the example ``new-lead``
definition under a fresh name, saved through the API; a run as the API has it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from tests.console.stack import ConsoleStack

REPO = Path(__file__).resolve().parents[2]
LEAD = REPO / "examples" / "flows" / "lead.json"


def lead_definition(name: str | None = None) -> dict[str, Any]:
    """The example ``new-lead`` flow (reads ``trigger.company`` and ``trigger.values``)."""
    definition: dict[str, Any] = json.loads(LEAD.read_text())
    definition["name"] = name or f"lead-{uuid.uuid4().hex[:10]}"
    return definition


def saved_flow(stack: ConsoleStack, definition: dict[str, Any] | None = None) -> dict[str, Any]:
    """A new flow saved with ``POST /v1/flows`` (the lead example under a fresh name)."""
    body = {"definition": definition or lead_definition()}
    return dict(stack.api.post("/v1/flows", json=body).raise_for_status().json())


def run_of(stack: ConsoleStack, run_id: str) -> dict[str, Any]:
    """``GET /v1/runs/{run_id}`` (the run exists from the moment it was started)."""
    return dict(stack.api.get(f"/v1/runs/{run_id}").raise_for_status().json())


def visit(page: Page, route: str) -> None:
    """Open ``/#<route>`` freshly loaded (a hash the page already shows would not reload it, and
    the data the test just made through the API would not be there)."""
    page.goto(f"/#{route}")
    page.reload()
