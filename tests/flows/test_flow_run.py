"""FlowRun against a real Temporal dev server, a real worker and the real sandbox."""

from __future__ import annotations

import asyncio

import docker
import pytest
from temporalio.client import WorkflowFailureError

from sandbox import labels
from tests.flows.conftest import StartFlow, inline_step, step_outputs
from workflows.types import PROGRESS_QUERY

pytestmark = [pytest.mark.temporal, pytest.mark.docker]

CSV = "name,score\nAda,3\nGrace,5\nLinus,4\n"


async def test_three_step_chain_with_mappings(start_flow: StartFlow) -> None:
    definition = {
        "name": "chain",
        "steps": [
            {"id": "parse", "uses": "data.csv_parse@1.0.1", "with": {"text": "{{ trigger.csv }}"}},
            {
                "id": "stats",
                "uses": "math.stats@1.0.0",
                "with": {
                    "values": "{{ steps.parse.output.records[*].score | map(&to_number(@), @) }}"
                },
            },
            {
                "id": "slug",
                "uses": "text.slugify@1.0.0",
                "with": {
                    "text": "Mean score {{ steps.stats.output.mean }} "
                    "of {{ steps.parse.output.count }}"
                },
            },
        ],
        "output": {"mean": "{{ steps.stats.output.mean }}", "slug": "{{ steps.slug.output.slug }}"},
    }
    handle = await start_flow(definition, {"csv": CSV})
    result = await handle.result()
    assert result.output == {"mean": 4.0, "slug": "mean-score-4-0-of-3"}
    assert [s.status for s in result.steps.values()] == ["succeeded"] * 3


async def test_diamond_runs_branches_in_parallel_and_joins(start_flow: StartFlow) -> None:
    sleeper = inline_step(
        "test.sleep",
        """
        import time
        from step_sdk import step

        @step(name="test.sleep", version="1.0.0")
        def main(seconds: float, label: str) -> dict[str, float | str]:
            started = time.time()
            time.sleep(seconds)
            return {"label": label, "started": started, "ended": time.time()}
        """,
    )
    joiner = inline_step(
        "test.join",
        """
        from step_sdk import step

        @step(name="test.join", version="1.0.0")
        def main(left: dict, right: dict) -> list[str]:
            return [left["label"], right["label"]]
        """,
    )
    definition = {
        "name": "diamond",
        "steps": [
            {"id": "start", "uses": "text.slugify@1.0.0", "with": {"text": "Go Go"}},
            {"id": "left", "uses": "test.sleep@1.0.0",
             "with": {"seconds": 2, "label": "L-{{ steps.start.output.slug }}"}},
            {"id": "right", "uses": "test.sleep@1.0.0",
             "with": {"seconds": 2, "label": "R-{{ steps.start.output.slug }}"}},
            {"id": "join", "uses": "test.join@1.0.0",
             "with": {"left": "{{ steps.left.output }}", "right": "{{ steps.right.output }}"}},
        ],
        "output": {"joined": "{{ steps.join.output }}"},
    }  # fmt: skip
    handle = await start_flow(definition, extra=[sleeper, joiner])
    result = await handle.result()
    assert result.output == {"joined": ["L-go-go", "R-go-go"]}
    outputs = await step_outputs(handle)
    left, right = outputs["left"], outputs["right"]
    # The branches overlapped in time: each started before the other ended.
    assert left["started"] < right["ended"] and right["started"] < left["ended"]


async def test_if_skips_a_step_and_its_dependents(start_flow: StartFlow) -> None:
    definition = {
        "name": "conditional",
        "steps": [
            {"id": "stats", "uses": "math.stats@1.0.0", "with": {"values": "{{ trigger.values }}"}},
            {"id": "hot", "uses": "text.slugify@1.0.0",
             "if": "{{ steps.stats.output.mean > `50` }}", "with": {"text": "hot lead"}},
            {"id": "after_hot", "uses": "text.slugify@1.0.0",
             "with": {"text": "after {{ steps.hot.output.slug }}"}},
            {"id": "cold", "uses": "text.slugify@1.0.0",
             "if": "{{ steps.stats.output.mean <= `50` }}", "with": {"text": "cold lead"}},
        ],
    }  # fmt: skip
    result = await (await start_flow(definition, {"values": [10, 20]})).result()
    statuses = {k: v.status for k, v in result.steps.items()}
    assert statuses == {
        "stats": "succeeded",
        "hot": "skipped",
        "after_hot": "skipped",
        "cold": "succeeded",
    }
    assert result.output["cold"] == {"slug": "cold-lead"}
    assert result.output["hot"] is None


async def test_foreach_over_ten_items_with_concurrency_three_keeps_order(
    start_flow: StartFlow,
) -> None:
    probe = inline_step(
        "test.probe",
        """
        import time
        from step_sdk import step

        @step(name="test.probe", version="1.0.0")
        def main(n: int) -> dict[str, float]:
            started = time.time()
            time.sleep(0.5)
            return {"n": n, "started": started, "ended": time.time()}
        """,
    )
    definition = {
        "name": "fan-out",
        "steps": [
            {"id": "each", "uses": "test.probe@1.0.0", "foreach": "{{ trigger.items }}",
             "concurrency": 3, "with": {"n": "{{ item }}"}},
        ],
        "output": {"ns": "{{ steps.each.output[*].n }}"},
    }  # fmt: skip
    handle = await start_flow(definition, {"items": list(range(10))}, [probe])
    result = await handle.result()
    assert result.output == {"ns": list(range(10))}
    assert result.steps["each"].items == 10
    outputs = await step_outputs(handle)
    spans = [(outputs[f"each[{i}]"]["started"], outputs[f"each[{i}]"]["ended"]) for i in range(10)]
    peak = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert 2 <= peak <= 3


async def test_failing_twice_then_succeeding_is_retried(start_flow: StartFlow) -> None:
    flaky = inline_step(
        "test.flaky",
        """
        from step_sdk import StepContext, step

        @step(name="test.flaky", version="1.0.0",
              retry={"max_attempts": 5, "initial_interval_s": 0.2})
        def main(ctx: StepContext) -> int:
            if ctx.attempt < 3:
                raise RuntimeError(f"transient failure on attempt {ctx.attempt}")
            return ctx.attempt
        """,
        retry={"max_attempts": 5, "initial_interval_s": 0.2},
    )
    definition = {"name": "flaky", "steps": [{"id": "flaky", "uses": "test.flaky@1.0.0"}]}
    result = await (await start_flow(definition, extra=[flaky])).result()
    assert result.output == {"flaky": 3}
    assert result.steps["flaky"].attempts == 3


async def test_a_step_that_times_out_fails_the_flow_naming_it(start_flow: StartFlow) -> None:
    slow = inline_step(
        "test.slow",
        "import time\n\ndef main():\n    time.sleep(60)\n",
        limits={"timeout_s": 30},
        retry={"max_attempts": 1},
    )
    definition = {
        "name": "slow",
        "steps": [{"id": "slow", "uses": "test.slow@1.0.0", "timeout_s": 1.5}],
    }
    handle = await start_flow(definition, extra=[slow])
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    message = str(caught.value.cause)
    assert "step 'slow' failed: StepTimeout" in message
    progress = await handle.query(PROGRESS_QUERY)
    assert progress["steps"]["slow"]["error"]["type"] == "StepTimeout"


async def test_input_that_breaks_the_schema_is_not_retried(start_flow: StartFlow) -> None:
    definition = {
        "name": "bad-input",
        "steps": [{"id": "stats", "uses": "math.stats@1.0.0",
                   "with": {"values": "{{ trigger.values }}"}, "retry": {"max_attempts": 3}}],
    }  # fmt: skip
    handle = await start_flow(definition, {"values": "not a list"})
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    assert "InputValidationError" in str(caught.value.cause)
    assert "/values" in str(caught.value.cause)
    progress = await handle.query(PROGRESS_QUERY)
    assert progress["steps"]["stats"]["attempts"] == 1


async def test_on_error_continue_records_the_error_for_downstream(start_flow: StartFlow) -> None:
    failing = inline_step(
        "test.fail",
        "def main():\n    raise ValueError('no such customer')\n",
        retry={"max_attempts": 1},
    )
    definition = {
        "name": "tolerant",
        "steps": [
            {"id": "lookup", "uses": "test.fail@1.0.0", "on_error": "continue"},
            {"id": "fallback", "uses": "text.slugify@1.0.0",
             "if": "{{ steps.lookup.error != null }}",
             "with": {"text": "fallback {{ steps.lookup.error.type }}"}},
        ],
        "output": {"fallback": "{{ steps.fallback.output.slug }}"},
    }  # fmt: skip
    result = await (await start_flow(definition, extra=[failing])).result()
    assert result.steps["lookup"].status == "failed"
    assert result.steps["lookup"].error["message"] == "ValueError: no such customer"
    assert result.output == {"fallback": "fallback-steperror"}


async def test_secrets_reach_only_declaring_steps_and_never_history(
    start_flow: StartFlow,
) -> None:
    leaky = inline_step(
        "test.leaky",
        """
        from step_sdk import StepContext, step

        @step(name="test.leaky", version="1.0.0", secrets=["API_TOKEN"])
        def main(ctx: StepContext) -> str:
            print("token is", ctx.secrets["API_TOKEN"])
            return "got " + ctx.secrets["API_TOKEN"]
        """,
        secrets=["API_TOKEN"],
    )
    definition = {"name": "secret", "steps": [{"id": "leak", "uses": "test.leaky@1.0.0"}]}
    handle = await start_flow(definition, extra=[leaky])
    result = await handle.result()
    assert result.output == {"leak": "got [redacted]"}
    history = await handle.fetch_history()
    assert "tok-very-secret-123" not in history.to_json()


async def test_cancelling_a_running_flow_leaves_no_container(
    start_flow: StartFlow, docker_client: docker.DockerClient
) -> None:
    sleeper = inline_step(
        "test.sleepy",
        "import time\n\ndef main():\n    time.sleep(300)\n",
        limits={"timeout_s": 300},
    )
    definition = {"name": "cancel", "steps": [{"id": "zzz", "uses": "test.sleepy@1.0.0"}]}
    handle = await start_flow(definition, extra=[sleeper])
    label = {"label": f"{labels.RUN_ID}={handle.id}"}
    for _ in range(100):
        if docker_client.api.containers(filters=label):
            break
        await asyncio.sleep(0.2)
    assert docker_client.api.containers(filters=label), "the step never started"
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert docker_client.api.containers(all=True, filters=label) == []
