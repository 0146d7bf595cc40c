"""A flow's triggers in Chromium against the real stack: a webhook issued in the UI and fired
with the real ``curl`` from the line the page shows (plain and signed), the signing secret shown
once, rotate and remove; a schedule added with a time zone, its next fire times, pause, resume,
edit, trigger now and delete; a run started by hand from the generated form and from raw JSON."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import httpx
from playwright.sync_api import Dialog, Page, expect

from tests.console.browser import screenshot
from tests.console.flows import run_of, saved_flow, visit
from tests.console.stack import ConsoleStack

CURL_TIMEOUT_S = 60


def accept(dialog: Dialog) -> None:
    dialog.accept()


def fire(curl_line: str) -> dict[str, Any]:
    """Run the page's curl line in a POSIX shell, as a user pasting it would; its JSON answer."""
    for tool in ("curl", "openssl"):
        assert shutil.which(tool), f"{tool} is missing: install it (Debian: apt-get install {tool})"
    done = subprocess.run(
        ["sh", "-c", curl_line], capture_output=True, text=True, timeout=CURL_TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_a_webhook_issued_in_the_console_starts_a_run_from_its_curl_line(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    page.on("dialog", accept)
    flow = saved_flow(console_stack)
    visit(page, f"/flows/{flow['id']}/triggers")
    expect(page.get_by_text("This flow has no webhook")).to_be_visible()
    page.get_by_role("button", name="Issue webhook").click()
    url = page.get_by_label("Webhook URL")
    expect(url).to_contain_text("/v1/hooks/whk_")
    first_url = url.inner_text()

    body = {"company": "Curl Corp", "values": [10, 20, 90]}
    page.get_by_label("Body to send (JSON)").fill(json.dumps(body))
    curl_line = page.get_by_label("curl line").input_value()
    assert first_url in curl_line
    delivery = fire(curl_line)
    assert delivery["duplicate"] is False
    run = run_of(console_stack, delivery["run_id"])
    assert run["flow_id"] == flow["id"]
    assert run["input"] == body
    assert run["trigger"] == "webhook"
    screenshot(page, "triggers-webhook")
    visit(page, f"/runs/{delivery['run_id']}")
    expect(page.get_by_label("Run facts")).to_contain_text("webhook")
    expect(page.get_by_label("Run input")).to_contain_text('"company": "Curl Corp"')
    visit(page, f"/flows/{flow['id']}/triggers")

    page.get_by_role("button", name="Rotate").click()
    page.get_by_label("Body to send (JSON)").fill(json.dumps(body))
    expect(url).not_to_have_text(first_url)
    old = httpx.post(first_url, json=body, timeout=30)
    assert old.status_code == 404, old.text
    rotated = fire(page.get_by_label("curl line").input_value())
    assert run_of(console_stack, rotated["run_id"])["input"] == body

    page.get_by_role("button", name="Remove webhook").click()
    expect(page.get_by_text("This flow has no webhook")).to_be_visible()
    assert console_stack.api.get(f"/v1/flows/{flow['id']}/webhook").status_code == 404


def test_a_signed_webhooks_secret_is_shown_once_and_its_signed_curl_line_works(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    flow = saved_flow(console_stack)
    visit(page, f"/flows/{flow['id']}/triggers")
    page.get_by_label("Require signed deliveries").check()
    page.get_by_role("button", name="Issue webhook").click()
    secret_box = page.get_by_label("Signing secret", exact=True)
    expect(secret_box).to_contain_text("whsec_")
    secret = secret_box.inner_text()
    expect(page.get_by_text("How to sign")).to_contain_text("X-Stepwell-Signature")

    curl_line = page.get_by_label("curl line").input_value()
    assert secret in curl_line and "X-Stepwell-Signature" in curl_line
    delivery = fire(curl_line)
    assert run_of(console_stack, delivery["run_id"])["flow_id"] == flow["id"]
    screenshot(page, "triggers-signed-webhook")

    # Unsigned, the same URL refuses the delivery.
    hook_url = page.get_by_label("Webhook URL").inner_text()
    unsigned = httpx.post(hook_url, json={"company": "x", "values": [1]}, timeout=30)
    assert unsigned.status_code == 401, unsigned.text

    page.reload()
    expect(page.get_by_label("Webhook URL")).to_have_text(hook_url)
    expect(page.get_by_label("Signing secret", exact=True)).to_have_count(0)
    assert secret not in page.content()
    assert "<your signing secret>" in page.get_by_label("curl line").input_value()


def test_a_schedule_shows_its_next_fire_times_pauses_resumes_and_triggers_a_run(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    page.on("dialog", accept)
    flow = saved_flow(console_stack)
    visit(page, f"/flows/{flow['id']}/triggers")
    expect(page.get_by_text("No schedules.")).to_be_visible()
    page.get_by_role("button", name="New schedule").click()
    form = page.get_by_role("form", name="Add schedule")

    # A cron expression the API refuses: its words, on the field.
    form.get_by_label("Cron expression").fill("0 25 * * *")
    form.get_by_label("Time zone").select_option("Europe/Berlin")
    payload = {"company": "Schedule Corp", "values": [5, 95]}
    form.get_by_label("Payload").fill(json.dumps(payload))
    form.get_by_role("button", name="Add schedule").click()
    expect(form.get_by_label("Cron expression")).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".field-error")).to_contain_text("hour")
    screenshot(page, "triggers-schedule-form")

    form.get_by_label("Cron expression").fill("0 9 * * 1-5")
    form.get_by_role("button", name="Add schedule").click()
    schedule = page.get_by_role("listitem", name="Schedule cron 0 9 * * 1-5 (Europe/Berlin)")
    fire_times = schedule.get_by_role("list", name="Next fire times").get_by_role("listitem")
    expect(fire_times).to_have_count(5)
    [listed] = console_stack.api.get(f"/v1/flows/{flow['id']}/schedules").json()
    detail = console_stack.api.get(f"/v1/schedules/{listed['id']}").json()
    shown = [time.get_attribute("datetime") for time in schedule.locator("time").all()]
    assert shown == detail["next_fire_times"]
    assert detail["timezone"] == "Europe/Berlin" and detail["payload"] == payload
    screenshot(page, "triggers-schedule")

    schedule.get_by_role("button", name="Pause").click()
    expect(schedule).to_contain_text("paused")
    expect(fire_times).to_have_count(0)
    assert console_stack.api.get(f"/v1/schedules/{listed['id']}").json()["paused"] is True
    schedule.get_by_role("button", name="Resume").click()
    expect(fire_times).to_have_count(5)
    assert console_stack.api.get(f"/v1/schedules/{listed['id']}").json()["paused"] is False

    schedule.get_by_role("button", name="Trigger now").click()
    recent = schedule.get_by_role("list", name="Recent runs").get_by_role("link")
    expect(recent).to_have_count(1, timeout=60_000)
    run_id = recent.inner_text()
    assert run_id.startswith(listed["run_id_prefix"])
    run = run_of(console_stack, run_id)
    assert run["flow_id"] == flow["id"] and run["input"] == payload
    recent.click()
    expect(page.get_by_label("Run facts")).to_contain_text("schedule")
    page.go_back()

    schedule.get_by_role("button", name="Edit").click()
    edit = schedule.get_by_role("form", name="Edit schedule")
    edit.get_by_label("Interval").check()
    edit.get_by_label("Every (seconds)").fill("7200")
    edit.get_by_role("button", name="Save schedule").click()
    changed = page.get_by_role("listitem", name="Schedule every 7200 s")
    expect(changed).to_be_visible()
    assert console_stack.api.get(f"/v1/schedules/{listed['id']}").json()["interval_s"] == 7200

    changed.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No schedules.")).to_be_visible()
    assert console_stack.api.get(f"/v1/flows/{flow['id']}/schedules").json() == []


def test_a_run_by_hand_from_the_generated_form_gets_exactly_that_input(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    flow = saved_flow(console_stack)
    visit(page, f"/flows/{flow['id']}/run")
    # new-lead reads trigger.company (text.slugify's `text`: a string) and trigger.values
    # (math.stats's `values`: an array of numbers)
    page.get_by_label("company").fill("Form Corp")
    # math.stats wants at least one value: the form starts with one item
    page.get_by_label("values-1").fill("40")
    page.get_by_role("button", name="Add item").click()
    page.get_by_label("values-2").fill("70.5")
    screenshot(page, "run-by-hand-form")
    page.get_by_role("button", name="Start run").click()
    expect(page).to_have_url(re.compile(r"#/runs/[^/]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    run = run_of(console_stack, run_id)
    assert run["flow_id"] == flow["id"]
    assert run["input"] == {"company": "Form Corp", "values": [40, 70.5]}
    assert run["trigger"] == "manual"
    expect(page.get_by_label("Run facts")).to_contain_text("manual")
    expect(page.get_by_label("Run input")).to_contain_text('"company": "Form Corp"')


def test_a_required_field_left_empty_is_named_before_anything_starts(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    flow = saved_flow(console_stack)
    visit(page, f"/flows/{flow['id']}/run")
    page.get_by_role("button", name="Start run").click()
    expect(page.get_by_text("is a required property").first).to_be_visible()
    expect(page).to_have_url(re.compile(f"#/flows/{flow['id']}/run$"))


def test_a_run_by_hand_from_raw_json_must_parse_then_starts(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    page = signed_in
    flow = saved_flow(console_stack)
    visit(page, f"/flows/{flow['id']}/run")
    page.get_by_label("company").fill("Raw Corp")
    page.get_by_label("Raw JSON").check()
    raw = page.get_by_label("Trigger input (JSON)")
    expect(raw).to_have_value(re.compile(r'"company": "Raw Corp"'))

    raw.fill('{"company": "Raw Corp", "values": [1, 2,')
    page.get_by_role("button", name="Start run").click()
    expect(raw).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert").filter(has_text="not JSON")).to_be_visible()

    raw.fill('{"company": "Raw Corp", "values": [1, 2, 3], "extra": {"kept": true}}')
    page.get_by_role("button", name="Start run").click()
    expect(page).to_have_url(re.compile(r"#/runs/[^/]+$"))
    run = run_of(console_stack, page.url.rsplit("/", 1)[1])
    assert run["input"] == {"company": "Raw Corp", "values": [1, 2, 3], "extra": {"kept": True}}
