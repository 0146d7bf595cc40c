"""The runs list in a real browser: filters by flow, status and trigger narrow it to exactly the
runs they name, paging moves to older runs, and a reload keeps the filters (they are in the
hash's query)."""

from __future__ import annotations

import time

import httpx
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
    wait_closed,
)
from tests.console.stack import ConsoleStack


def _listed(api: httpx.Client, flow_id: str, count: int) -> None:
    """Wait until the API lists ``count`` runs of the flow (listing is eventually consistent)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = api.get("/v1/runs", params={"flow_id": flow_id}).raise_for_status().json()
        if len(page["items"]) == count:
            return
        time.sleep(0.2)
    raise AssertionError(f"the runs of {flow_id} were not all listed")


def _run_ids(page: Page) -> list[str]:
    return [
        link.inner_text()
        for link in page.get_by_role("table", name="Runs").get_by_role("link").all()
    ]


def test_filters_narrow_the_list_paging_moves_back_and_a_reload_keeps_them(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    api = console_stack.api
    push_step(api, SLEEPER)
    push_step(api, FAILER)
    quick, failing = save_flow(api, sleep_flow(0)), save_flow(api, FAIL_FLOW)
    manual = []
    for index in range(10):  # one after the other: newest first is the reverse order
        manual.append(start_run(api, quick, {"i": index}))
        wait_closed(api, manual[-1])
    rerun = api.post(f"/v1/runs/{manual[0]}/rerun").raise_for_status().json()["run_id"]
    wait_closed(api, rerun)
    failed = start_run(api, failing, {"name": "Bob"})
    wait_closed(api, failed)
    _listed(api, quick, 11)
    _listed(api, failing, 1)
    newest_first = [rerun, *reversed(manual)]

    page = signed_in
    page.goto("/#/runs")
    page.get_by_label("Flow", exact=True).select_option(quick)
    page.get_by_label("Runs per page").select_option("10")
    runs = page.get_by_role("table", name="Runs").get_by_role("link")
    expect(runs).to_have_text(newest_first[:10])
    page.get_by_role("button", name="Older runs").click()
    expect(runs).to_have_text(newest_first[10:])
    expect(page.get_by_role("button", name="Older runs")).to_be_disabled()
    page.get_by_role("button", name="Newer runs").click()
    expect(runs).to_have_text(newest_first[:10])

    page.get_by_label("Trigger", exact=True).select_option("rerun")
    expect(runs).to_have_text([rerun])
    page.get_by_label("Trigger", exact=True).select_option("manual")
    page.get_by_label("Status", exact=True).select_option("failed")
    expect(page.get_by_role("status")).to_contain_text("No runs match these filters.")
    expect(runs).to_have_count(0)

    page.get_by_label("Flow", exact=True).select_option(failing)
    expect(runs).to_have_text([failed])
    assert "status=failed" in page.url and f"flow={failing}" in page.url
    page.reload()
    expect(page.get_by_label("Flow", exact=True)).to_have_value(failing)
    expect(page.get_by_label("Status", exact=True)).to_have_value("failed")
    expect(page.get_by_label("Trigger", exact=True)).to_have_value("manual")
    expect(runs).to_have_text([failed])
    screenshot(page, "runs")

    page.get_by_role("link", name=failed).click()
    expect(page.get_by_role("status", name="Run status")).to_have_text("failed")
    page.go_back()
    expect(runs).to_have_text([failed])


def test_a_flows_runs_link_opens_the_list_filtered(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    """`/#/runs?flow=<id>` (the flow pages' Runs tab) shows that flow's runs only."""
    api = console_stack.api
    push_step(api, SLEEPER)
    flow_id = save_flow(api, sleep_flow(0))
    run_id = start_run(api, flow_id)
    wait_closed(api, run_id)
    _listed(api, flow_id, 1)

    page = signed_in
    page.goto(f"/#/runs?flow={flow_id}")
    expect(page.get_by_label("Flow", exact=True)).to_have_value(flow_id)
    expect(page.get_by_role("table", name="Runs").get_by_role("link")).to_have_text([run_id])
