"""/docs (Swagger UI) and /redoc in Chromium, against the real stack: both render every
operation of the API from local files only, with no request elsewhere and no CSP violation
(the ``page`` fixture checks both on teardown)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.console.browser import screenshot
from tests.console.stack import ConsoleStack


def _operations(stack: ConsoleStack) -> list[tuple[str, str, str, str]]:
    """``(method, path, operationId, summary)`` of every operation in the served document."""
    document = stack.api.get("/v1/openapi.json").raise_for_status().json()
    return [
        (method.upper(), path, operation["operationId"], operation["summary"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_swagger_ui_shows_every_operation_offline(page: Page, console_stack: ConsoleStack) -> None:
    operations = _operations(console_stack)
    page.goto("/docs")
    expect(page.get_by_role("heading", name=re.compile("Stepwell API"))).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(len(operations))
    for method, path, _id, _summary in operations:
        block = (
            page.locator(".opblock")
            .filter(has=page.locator(".opblock-summary-method", has_text=re.compile(f"^{method}$")))
            .filter(has=page.locator(f'.opblock-summary-path[data-path="{path}"]'))
        )
        expect(block).to_have_count(1)
    screenshot(page, "docs-swagger-ui")


def test_swagger_ui_calls_the_api_with_the_key_given_to_authorize(
    page: Page, console_stack: ConsoleStack
) -> None:
    workspace = console_stack.api.get("/v1/workspace").raise_for_status().json()
    page.goto("/docs")
    page.get_by_role("button", name="Authorize").click()
    dialog = page.locator(".dialog-ux")
    dialog.get_by_role("textbox").fill(console_stack.api_key)
    dialog.get_by_role("button", name="Apply credentials").click()
    dialog.get_by_role("button", name="Close").click()
    operation = page.locator("#operations-workspace-get_workspace_v1_workspace_get")
    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    answer = operation.locator(".live-responses-table .response")
    expect(answer.locator(".response-col_status")).to_have_text("200")
    expect(answer.locator(".response-col_description")).to_contain_text(workspace["id"])


def test_redoc_shows_every_operation_offline(page: Page, console_stack: ConsoleStack) -> None:
    operations = _operations(console_stack)
    page.goto("/redoc")
    expect(page.get_by_role("heading", name=re.compile("Stepwell API"), level=1)).to_be_visible()
    for _method, _path, operation_id, summary in operations:
        # each operation's heading holds a link to its own anchor, then its summary
        heading = page.locator(f'h2:has(a[href$="/operation/{operation_id}"])')
        expect(heading).to_have_count(1)
        expect(heading).to_contain_text(summary)
    screenshot(page, "docs-redoc")
