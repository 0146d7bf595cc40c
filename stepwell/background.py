"""Background tasks of a long-running process that outlive the failures of what they depend on.

A pass that raises (the Docker engine is unreachable, the database restarts, a bug) is logged and
retried with a growing delay; the task itself only ends when it is cancelled. While a dependency
stays down the log gets one line at the first failure and then one per ``log_every_s``, so an
outage of hours does not flood it, and one line when the pass works again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn


async def run_periodically(
    name: str,
    one_pass: Callable[[], Awaitable[None]],
    *,
    every_s: float,
    log: logging.Logger,
    first_retry_s: float = 1.0,
    log_every_s: float = 300.0,
) -> NoReturn:
    """Await ``one_pass()`` every ``every_s`` seconds until cancelled, whatever it raises.

    After a failed pass the next one comes after ``first_retry_s``, doubling on each further
    failure up to ``every_s``.
    """
    failures = 0
    last_logged = float("-inf")
    while True:
        try:
            await one_pass()
        except Exception as exc:
            failures += 1
            delay = min(every_s, first_retry_s * 2 ** (failures - 1))
            now = time.monotonic()
            if now - last_logged >= log_every_s:
                last_logged = now
                log.warning(
                    "%s: pass failed (%d in a row), retrying in %g s: %s: %s",
                    name, failures, delay, type(exc).__name__, exc,
                    exc_info=failures == 1,
                )  # fmt: skip
        else:
            if failures:
                log.warning("%s: works again after %d failed passes", name, failures)
            failures, last_logged = 0, float("-inf")
            delay = every_s
        await asyncio.sleep(delay)
