"""Background tasks: a failing pass is logged once per outage, retried, and the task goes on."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from stepwell.background import run_periodically


async def test_failures_are_logged_once_per_outage_and_the_task_keeps_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("test.background")
    caplog.set_level(logging.WARNING, logger="test.background")
    outcomes = [ConnectionError("engine down")] * 5 + [None] * 2 + [ValueError("bug")] + [None]
    passes = 0
    finished = asyncio.Event()

    async def one_pass() -> None:
        nonlocal passes
        passes += 1
        if passes == len(outcomes):
            finished.set()
        if passes <= len(outcomes) and outcomes[passes - 1] is not None:
            raise outcomes[passes - 1]  # type: ignore[misc]

    task = asyncio.create_task(
        run_periodically("cleanup", one_pass, every_s=0.01, log=log, first_retry_s=0.001)
    )
    await asyncio.wait_for(finished.wait(), 10)
    await asyncio.sleep(0.05)
    assert not task.done()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # this task's logger only: a session-wide Temporal worker may log meanwhile (a schedule
    # another test made can fire while this runs)
    messages = [record.getMessage() for record in caplog.records if record.name == log.name]
    assert messages[0].startswith("cleanup: pass failed (1 in a row)")
    assert "ConnectionError: engine down" in messages[0]
    assert messages[1] == "cleanup: works again after 5 failed passes"
    assert messages[2].startswith("cleanup: pass failed (1 in a row)")
    assert "ValueError: bug" in messages[2]
    assert messages[3] == "cleanup: works again after 1 failed passes"
    assert len(messages) == 4
    assert passes > len(outcomes)
