"""Secrets (/secrets) in Chromium against the real stack: a value set in the console is never
shown again (not in the page, not in any answer the browser received), it can be replaced and
the secret deleted; the API's refusal of a too short value appears on the value field."""

from __future__ import annotations

import uuid

from playwright.sync_api import Dialog, Error, Page, Response, expect

from tests.console.browser import screenshot
from tests.console.flows import visit
from tests.console.stack import ConsoleStack


def _answers(page: Page) -> list[Response]:
    received: list[Response] = []

    def keep(response: Response) -> None:
        received.append(response)

    page.on("response", keep)
    return received


def _bodies(responses: list[Response]) -> str:
    texts = []
    for response in responses:
        try:
            texts.append(response.text())
        except Error:  # redirects and aborted requests have no body
            continue
    return "\n".join(texts)


def test_a_secret_value_is_never_shown_again_and_can_be_replaced_and_deleted(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    responses = _answers(page)
    page.on("dialog", lambda dialog: dialog.accept())
    name = f"CONSOLE_TEST_{uuid.uuid4().hex[:8].upper()}"
    value = f"first-{uuid.uuid4().hex}"
    visit(page, "/secrets")

    form = page.get_by_role("form", name="Set a secret")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Value").fill(value)
    expect(form.get_by_label("Value")).to_have_attribute("type", "password")
    form.get_by_role("button", name="Save secret").click()
    row = page.get_by_role("row").filter(has=page.get_by_text(name, exact=True))
    expect(row).to_be_visible()
    expect(form.get_by_label("Value")).to_have_value("")
    names = [secret["name"] for secret in console_stack.api.get("/v1/secrets").json()]
    assert name in names
    screenshot(page, "secrets")

    replacement = f"second-{uuid.uuid4().hex}"
    row.get_by_role("button", name=f"Replace value of {name}").click()
    page.get_by_label(f"New value for {name}").fill(replacement)
    page.get_by_role("button", name="Save new value").click()
    replaced = page.get_by_role("status").filter(has_text=f"Replaced the value of {name}")
    expect(replaced).to_be_visible()
    expect(page.get_by_label(f"New value for {name}")).to_have_count(0)

    page.reload()
    expect(row).to_be_visible()
    assert any(response.url.endswith(f"/v1/secrets/{name}") for response in responses)
    for secret in (value, replacement):
        assert secret not in page.content()
        assert secret not in _bodies(responses)

    row.get_by_role("button", name=f"Delete {name}").click()
    expect(row).to_have_count(0)
    names = [secret["name"] for secret in console_stack.api.get("/v1/secrets").json()]
    assert name not in names


def test_a_too_short_value_is_refused_on_the_value_field(signed_in: Page) -> None:
    page = signed_in
    visit(page, "/secrets")
    form = page.get_by_role("form", name="Set a secret")
    form.get_by_label("Name").fill(f"CONSOLE_SHORT_{uuid.uuid4().hex[:6].upper()}")
    form.get_by_label("Value").fill("short")
    form.get_by_role("button", name="Save secret").click()
    expect(form.get_by_label("Value")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("alert")).to_contain_text("8 characters")
    expect(form.get_by_label("Value")).to_have_value("")


def test_deleting_needs_a_confirmation(signed_in: Page, console_stack: ConsoleStack) -> None:
    page = signed_in
    name = f"CONSOLE_KEEP_{uuid.uuid4().hex[:8].upper()}"
    body = {"value": "kept-value-123"}
    console_stack.api.put(f"/v1/secrets/{name}", json=body).raise_for_status()
    visit(page, "/secrets")

    def refuse(dialog: Dialog) -> None:
        dialog.dismiss()

    page.on("dialog", refuse)
    row = page.get_by_role("row").filter(has=page.get_by_text(name, exact=True))
    row.get_by_role("button", name=f"Delete {name}").click()
    expect(row).to_be_visible()
    names = [secret["name"] for secret in console_stack.api.get("/v1/secrets").json()]
    assert name in names
    console_stack.api.delete(f"/v1/secrets/{name}").raise_for_status()


def test_a_secret_can_be_set_with_the_keyboard_alone(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    name = f"CONSOLE_KEYS_{uuid.uuid4().hex[:8].upper()}"
    visit(page, "/secrets")
    page.get_by_role("form", name="Set a secret").get_by_label("Name").focus()
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(f"typed-{uuid.uuid4().hex}")
    page.keyboard.press("Enter")
    expect(page.get_by_role("row").filter(has=page.get_by_text(name, exact=True))).to_be_visible()
    console_stack.api.delete(f"/v1/secrets/{name}").raise_for_status()
