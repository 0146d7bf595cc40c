"""What a run records of a step that leaks its secret, through the real activity and Temporal:
the live log tail (heartbeats), the logs, the output and the error never hold any part of it."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from temporalio.converter import DataConverter

from tests.flows.conftest import SECRETS, StartFlow, inline_step
from ui_api.runs.history import read_history

pytestmark = [pytest.mark.temporal, pytest.mark.docker]

TOKEN = SECRETS["local"]["API_TOKEN"]

SLOW_LEAK = inline_step(
    "test.slowleak",
    """
    import base64, sys, time
    from step_sdk import StepContext, step

    @step(name="test.slowleak", version="1.0.0", secrets=["API_TOKEN"], timeout_s=60)
    def main(ctx: StepContext) -> dict:
        token = ctx.secrets["API_TOKEN"]
        half = len(token) // 2
        sys.stderr.write("token: " + token[:half])  # a heartbeat comes while it is half-written
        sys.stderr.flush()
        time.sleep(9)
        sys.stderr.write(token[half:] + "\\r\\n")
        print("b64", base64.b64encode((token + "\\n").encode()).decode())
        sys.stderr.flush()
        time.sleep(5)
        return {"hex": token.encode().hex(), "b64": base64.b64encode(token.encode()).decode()}
    """,
    secrets=["API_TOKEN"],
    limits={"timeout_s": 60},
)


def _pieces() -> list[str]:
    """Anything from which the token could be read back: halves and encoded prefixes."""
    half = len(TOKEN) // 2
    encoded = base64.b64encode(TOKEN.encode()).decode()
    return [TOKEN[:half], TOKEN[half:], encoded[:12], TOKEN.encode().hex()[:16]]


async def test_a_leaking_step_leaves_no_piece_of_its_secret_anywhere(
    start_flow: StartFlow,
) -> None:
    definition = {"name": "slow-leak", "steps": [{"id": "leak", "uses": "test.slowleak@1.0.0"}]}
    handle = await start_flow(definition, extra=[SLOW_LEAK])
    converter = DataConverter.default.payload_converter
    tails: list[str] = []
    result_task = asyncio.ensure_future(handle.result())
    while not result_task.done():
        description = await handle.describe()
        for pending in description.raw_description.pending_activities:
            if pending.heartbeat_details.payloads:
                details: Any = converter.from_payload(pending.heartbeat_details.payloads[0])
                tails.append(str(details.get("log_tail", "")))
        await asyncio.wait([result_task], timeout=0.3)
    result = result_task.result()
    assert any(tail.startswith("token: ") for tail in tails), tails  # the tail was live
    # Every payload of the history, decoded (history JSON holds payloads base64-encoded).
    facts = read_history((await handle.fetch_history()).events, converter)
    results = [e.result or {} for e in facts.executions.values()]
    recorded = json.dumps([results, facts.result], ensure_ascii=False)
    assert results[0]["output"] == {"hex": "[redacted]", "b64": "[redacted]"}
    assert results[0]["logs"].startswith("token: [redacted]\\x0d\n")
    for text in [*tails, recorded, result.steps["leak"].logs]:
        for piece in _pieces():
            assert piece not in text
