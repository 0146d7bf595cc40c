"""Fan-out of a ``foreach`` step over its items, with bounded concurrency.

Semantics (README, "Flows"):

- ``on_error: fail`` (the default): the first item that fails for good stops the step. No
  further item starts, and the items still running are cancelled (their activities are
  cancelled, which kills their containers) before the step is reported failed.
- ``on_error: continue``: the items are independent; every item runs. The step's output is the
  list of item outputs in item order, with ``null`` where an item failed, and its error lists
  every failed item (``error.items``: ``[{"index", "type", "message"}]``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow


class ItemFailed(Exception):
    """One item failed for good; ``error`` is its contract-3 error."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error


@dataclass
class ItemOutcomes:
    """What happened to every item, by index."""

    outputs: list[Any]
    errors: dict[int, dict[str, Any]] = field(default_factory=dict)  # in the order they failed
    cancelled: list[int] = field(default_factory=list)  # running when the step stopped
    not_started: list[int] = field(default_factory=list)


async def run_items(
    count: int,
    concurrency: int,
    keep_going: bool,
    run_item: Callable[[int], Awaitable[Any]],
) -> ItemOutcomes:
    """Run ``run_item(index)`` for every index, at most ``concurrency`` at a time.

    ``run_item`` returns the item's output or raises :class:`ItemFailed`. Without
    ``keep_going``, the first failure cancels the other running items and starts no more.
    If this coroutine is cancelled, every item is cancelled (and awaited) first.
    """
    outcomes = ItemOutcomes(outputs=[None] * count)
    gate = asyncio.Semaphore(concurrency)
    started: set[int] = set()
    tasks: list[asyncio.Task[None]] = []
    stopped = False

    async def one(index: int) -> None:
        nonlocal stopped
        async with gate:
            if stopped:
                return
            started.add(index)
            try:
                outcomes.outputs[index] = await run_item(index)
            except ItemFailed as failure:
                outcomes.errors[index] = failure.error
                if not keep_going and not stopped:
                    stopped = True
                    for other in tasks:
                        if other is not asyncio.current_task():
                            other.cancel()

    tasks.extend(asyncio.create_task(one(index)) for index in range(count))
    try:
        if tasks:
            await workflow.wait(tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await workflow.wait(tasks)
        raise
    for index, task in enumerate(tasks):
        if index not in started:
            outcomes.not_started.append(index)
        elif task.cancelled():
            outcomes.cancelled.append(index)
        elif (error := task.exception()) is not None:
            raise error  # a bug, not an item failure: fail the run
    return outcomes


def step_error(outcomes: ItemOutcomes, count: int) -> dict[str, Any] | None:
    """The step's error when items failed (None when none did): the first failure's type,
    a message naming the failed items, and ``items`` with each failure."""
    if not outcomes.errors:
        return None
    first_index, first = next(iter(outcomes.errors.items()))
    failed = sorted(outcomes.errors)
    items = [
        {"index": index, "type": outcomes.errors[index].get("type", "StepError"),
         "message": outcomes.errors[index].get("message", "")}
        for index in failed
    ]  # fmt: skip
    summary = f"{len(failed)} of {count} items failed ({', '.join(map(str, failed))})"
    if outcomes.cancelled or outcomes.not_started:
        summary += f"; {len(outcomes.cancelled)} cancelled, {len(outcomes.not_started)} not started"
    return {
        **first,
        "message": f"{summary}; item {first_index}: {first.get('message', '')}",
        "items": items,
        "item": first_index,
    }
