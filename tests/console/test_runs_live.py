"""A run's page in a real browser on a real stack: it turns green live, shows a failure with its
traceback, cancels a run and re-runs one."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.console.browser import screenshot
from tests.console.runs_helpers import (
    FAIL_FLOW,
    FAILER,
    SLEEPER,
    push_step,
    save_flow,
    sleep_flow,
    start_run,
)
from tests.console.stack import ConsoleStack

LONG_S = 120_000  # ms: a run's containers can take a while to start on a busy machine


def test_a_run_goes_green_live(signed_in: Page, console_stack: ConsoleStack) -> None:
    api = console_stack.api
    push_step(api, SLEEPER)
    flow_id = save_flow(api, sleep_flow(3))
    run_id = start_run(api, flow_id, {"why": "watch"})

    page = signed_in
    page.goto(f"/#/runs/{run_id}")
    status = page.get_by_role("status", name="Run status")
    expect(status).to_have_text("running")
    step = page.get_by_role("region", name="Step nap")
    expect(page.get_by_label("Run input")).to_contain_text('"why": "watch"')
    screenshot(page, "run-running")
    # no reload from here on: the page follows the run's event stream
    expect(status).to_have_text("succeeded", timeout=LONG_S)
    expect(step).to_contain_text("succeeded")
    expect(page.get_by_text("live", exact=True)).to_have_count(0)  # the stream has ended
    expect(page.get_by_label("step nap, succeeded")).to_have_class(re.compile("status-succeeded"))
    expect(page.get_by_label("Run output")).to_contain_text('"slept": 3')
    expect(page.get_by_label("Input of step nap")).to_contain_text('"seconds": 3')
    expect(page.get_by_label("Output of step nap")).to_contain_text('"slept": 3')
    expect(page.get_by_label("Logs of step nap")).to_have_text("going to sleep\nawake\n")
    executions = page.get_by_role("table", name="Step executions")
    expect(executions.get_by_role("row", name=re.compile("^nap"))).to_contain_text("succeeded")
    [execution] = api.get(f"/v1/runs/{run_id}").json()["steps"]["nap"]["executions"]
    assert execution["worker"]  # the owner id of the stack's worker, shown in its row
    expect(executions.get_by_role("row", name=re.compile("^nap"))).to_contain_text(
        execution["worker"]
    )
    expect(page.get_by_label("Run facts")).to_contain_text("manual")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    screenshot(page, "run")


def test_a_failed_run_shows_the_error_and_its_traceback(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    api = console_stack.api
    push_step(api, SLEEPER)
    push_step(api, FAILER)
    run_id = start_run(api, save_flow(api, FAIL_FLOW), {"name": "Ada"})

    page = signed_in
    page.goto(f"/#/runs/{run_id}")
    expect(page.get_by_role("status", name="Run status")).to_have_text("failed", timeout=LONG_S)
    expect(page.get_by_role("alert", name="Run error")).to_contain_text(
        "FlowFailed: step 'boom' failed"
    )
    expect(page.get_by_role("region", name="Step prepare")).to_contain_text("succeeded")
    boom = page.get_by_role("region", name="Step boom")
    expect(boom).to_contain_text("failed")
    error = page.get_by_role("group", name="Error of step boom")
    expect(error).to_contain_text("StepError: ValueError: no luck for Ada")
    traceback = page.get_by_label("Traceback of step boom")
    expect(traceback).to_contain_text("Traceback (most recent call last)")
    expect(traceback).to_contain_text('raise ValueError(f"no luck for {name}")')
    expect(page.get_by_label("Input of step boom")).to_contain_text('"name": "Ada"')
    expect(page.get_by_label("Logs of step boom")).to_contain_text("about to fail")
    expect(page.get_by_label("step boom, failed")).to_have_class(re.compile("status-failed"))
    executions = page.get_by_role("table", name="Step executions")
    expect(executions.get_by_role("row", name=re.compile("^boom"))).to_contain_text(
        "failed StepError"
    )
    screenshot(page, "run-failed")


def test_a_long_run_is_cancelled_and_re_run_from_its_page(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    api = console_stack.api
    push_step(api, SLEEPER)
    run_id = start_run(api, save_flow(api, sleep_flow(90)), {"n": 1})

    page = signed_in
    page.goto(f"/#/runs/{run_id}")
    step = page.get_by_role("region", name="Step nap")
    expect(step).to_contain_text("running", timeout=LONG_S)
    page.get_by_role("button", name="Cancel run").click()
    status = page.get_by_role("status", name="Run status")
    expect(status).to_have_text("cancelled", timeout=LONG_S)
    expect(page.get_by_role("alert", name="Run error")).to_contain_text("Cancelled")
    expect(step).to_contain_text("cancelled")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)

    page.get_by_role("button", name="Re-run").click()
    page.wait_for_url(lambda url: "#/runs/run_" in url and run_id not in url)
    rerun_id = page.url.rsplit("/", 1)[-1]
    try:
        expect(page.get_by_label("Run facts")).to_contain_text("rerun")
        expect(page.get_by_label("Run input")).to_contain_text('"n": 1')
        expect(status).to_have_text("running")
        expect(page.get_by_role("button", name="Cancel run")).to_be_visible()
    finally:
        api.post(f"/v1/runs/{rerun_id}/cancel")  # frees the worker for the other tests


def test_leaving_a_running_runs_page_closes_its_event_stream(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    api = console_stack.api
    push_step(api, SLEEPER)
    run_id = start_run(api, save_flow(api, sleep_flow(90)))
    page = signed_in
    try:
        page.goto(f"/#/runs/{run_id}")
        expect(page.get_by_role("region", name="Step nap")).to_contain_text(
            "running", timeout=LONG_S
        )
        with page.expect_event(
            "requestfailed", lambda request: request.url.endswith(f"/v1/runs/{run_id}/events")
        ):
            page.get_by_role("navigation", name="Sections").get_by_role("link", name="Runs").click()
        expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
    finally:
        api.post(f"/v1/runs/{run_id}/cancel")


def test_an_unknown_run_says_so_as_the_api_words_it(signed_in: Page) -> None:
    signed_in.goto("/#/runs/run_nope")
    expect(signed_in.get_by_role("alert")).to_have_text(
        "The run could not be loaded: no run 'run_nope' in this workspace"
    )
