"""Each submit of a console form clears the errors of the last one (schedule, run by hand,
secret), and a bad secret name is named on its field before anything is sent, in Chromium
against the real stack."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, Request, expect

from tests.console.flows import saved_flow, visit
from tests.console.stack import ConsoleStack


def test_a_schedule_forms_old_error_goes_when_the_next_submit_finds_another(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    flow = saved_flow(console_stack)
    visit(page, f"/flows/{flow['id']}/triggers")
    page.get_by_role("button", name="New schedule").click()
    form = page.get_by_role("form", name="Add schedule")
    cron = form.get_by_label("Cron expression")
    payload = form.get_by_label("Payload")

    cron.fill("61 9 * * *")
    form.get_by_role("button", name="Add schedule").click()
    expect(cron).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("alert").filter(has_text="61")).not_to_have_count(0)

    cron.fill("0 9 * * *")
    payload.fill('{"company": ')
    form.get_by_role("button", name="Add schedule").click()
    expect(payload).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("alert")).to_have_count(1)
    expect(form.get_by_role("alert")).to_contain_text("The payload is not JSON")
    expect(cron).not_to_have_attribute("aria-invalid", "true")
    expect(form).not_to_contain_text("61")

    payload.fill('{"company": "Fresh Corp", "values": [1]}')
    form.get_by_role("button", name="Add schedule").click()
    schedule = page.get_by_role("listitem", name="Schedule cron 0 9 * * *", exact=False)
    expect(schedule).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)


def test_run_by_hand_drops_the_apis_error_when_the_next_submit_fails_otherwise(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    flow = saved_flow(console_stack)
    console_stack.api.post(f"/v1/flows/{flow['id']}/disable").raise_for_status()
    visit(page, f"/flows/{flow['id']}/run")
    refused = page.get_by_role("alert").filter(has_text="The run did not start")

    page.get_by_label("Raw JSON").check()
    page.get_by_label("Trigger input (JSON)").fill('{"company": "Stale Corp", "values": [1]}')
    page.get_by_role("button", name="Start run").click()
    expect(refused).to_be_visible()
    page.get_by_label("Trigger input (JSON)").fill('{"company": ')
    page.get_by_role("button", name="Start run").click()
    expect(page.get_by_role("alert").filter(has_text="not JSON")).to_be_visible()
    expect(refused).to_have_count(0)

    # the generated form: the API's refusal, then the form's own check
    page.get_by_label("Raw JSON").uncheck()
    page.get_by_label("company").fill("Stale Corp")
    page.get_by_label("values-1").fill("1")
    page.get_by_role("button", name="Start run").click()
    expect(refused).to_be_visible()
    page.get_by_label("company").fill("")
    page.get_by_role("button", name="Start run").click()
    expect(page.get_by_text("is a required property").first).to_be_visible()
    expect(refused).to_have_count(0)


def test_a_bad_secret_name_is_named_on_its_field_and_goes_when_fixed(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    sent: list[str] = []

    def watch(request: Request) -> None:
        if "/v1/secrets/" in request.url:
            sent.append(request.url)

    page.on("request", watch)
    visit(page, "/secrets")
    form = page.get_by_role("form", name="Set a secret")
    name = form.get_by_label("Name")
    value = form.get_by_label("Value")
    for bad in ("../flows/x/webhook", "<b>bad name</b>", "a b", ".."):
        name.fill(bad)
        value.fill("a-long-enough-value")
        form.get_by_role("button", name="Save secret").click()
        expect(name).to_have_attribute("aria-invalid", "true")
        error = form.get_by_role("alert")
        expect(error).to_have_text(
            f"'{bad}' is not a secret name (letters, digits and underscores, not starting with a "
            "digit, at most 100 long)"
        )
        expect(form.locator("b")).to_have_count(0)
    assert sent == []  # refused before any request

    good = f"CONSOLE_FIXED_{uuid.uuid4().hex[:6].upper()}"
    name.fill(good)
    value.fill("short")
    form.get_by_role("button", name="Save secret").click()
    expect(value).to_have_attribute("aria-invalid", "true")
    expect(name).not_to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("alert")).to_contain_text("8 characters")
    expect(form).not_to_contain_text("is not a secret name")

    value.fill("a-long-enough-value")
    form.get_by_role("button", name="Save secret").click()
    expect(page.get_by_role("status").filter(has_text=f"Saved {good}")).to_be_visible()
    expect(form.get_by_role("alert")).to_have_count(0)
    console_stack.api.delete(f"/v1/secrets/{good}").raise_for_status()
