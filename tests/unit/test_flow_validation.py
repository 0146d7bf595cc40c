"""Static flow validation: every problem, each with a JSON pointer, without running anything."""

from __future__ import annotations

import copy
from typing import Any

from step_sdk.manifest import Manifest
from workflows.catalog import InMemoryCatalog
from workflows.validation import validate_flow

SLUGIFY = Manifest.model_validate(
    {
        "name": "text.slugify",
        "version": "1.0.0",
        "entrypoint": "step:slugify",
        "input_schema": {
            "type": "object",
            "properties": {"text": {"type": "string"}, "max_len": {"type": "integer"}},
            "required": ["text"],
            "additionalProperties": False,
        },
        "limits": {"timeout_s": 30},
        "retry": {"max_attempts": 3},
    }
)
SCORE = SLUGIFY.model_copy(update={"name": "leads.score", "version": "2.1.0"})
CATALOG = InMemoryCatalog([SLUGIFY, SCORE])

FLOW: dict[str, Any] = {
    "name": "new-lead",
    "steps": [
        {"id": "clean", "uses": "text.slugify@1.0.0",
         "with": {"text": "{{ trigger.body.company }}"}},
        {"id": "score", "uses": "leads.score@2.1.0",
         "with": {"text": "{{ steps.clean.output.slug }}"},
         "retry": {"max_attempts": 2}, "timeout_s": 20},
        {"id": "notify", "uses": "text.slugify@1.0.0",
         "if": "{{ steps.score.output.score > `50` }}",
         "with": {"text": "Hot lead {{ steps.clean.output.slug }}"}},
    ],
    "output": {"score": "{{ steps.score.output.score }}"},
}  # fmt: skip


def problems_of(flow: dict[str, Any]) -> dict[str, str]:
    return {p.pointer: p.message for p in validate_flow(flow, CATALOG)}


def edited(**changes: Any) -> dict[str, Any]:
    flow = copy.deepcopy(FLOW)
    for path, value in changes.items():
        target: Any = flow
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return flow


def test_the_contract_example_is_valid() -> None:
    assert problems_of(FLOW) == {}


def test_unknown_step_and_unknown_version() -> None:
    flow = edited(steps__0__uses="text.nope@1.0.0", steps__1__uses="leads.score@9.9.9")
    problems = problems_of(flow)
    assert problems["/steps/0/uses"] == "unknown step 'text.nope'"
    assert problems["/steps/1/uses"] == "leads.score has no version 9.9.9 (known: 2.1.0)"


def test_duplicate_ids() -> None:
    assert problems_of(edited(steps__2__id="clean"))["/steps/2/id"] == "duplicate step id 'clean'"


def test_cycles_are_named() -> None:
    flow = edited(steps__0__with={"text": "{{ steps.notify.output.slug }}"})
    messages = " ".join(problems_of(flow).values())
    assert "cycle" in messages and "clean" in messages and "notify" in messages


def test_references_to_steps_not_in_the_flow_and_to_itself() -> None:
    flow = edited(steps__1__with={"text": "{{ steps.ghost.output }}"}, steps__0__needs=["clean"])
    problems = problems_of(flow)
    assert "steps.ghost, which is not in the flow" in problems["/steps/1/with/text"]
    assert problems["/steps/0/needs/0"] == "a step cannot need itself"


def test_unparsable_expressions_in_with_if_and_output() -> None:
    flow = edited(
        steps__0__with={"text": "{{ trigger.( }}"},
        steps__2__if="{{ steps.score.output.score >>> 1 }}",
        output={"x": "{{ [ }}"},
    )
    problems = problems_of(flow)
    assert "does not parse" in problems["/steps/0/with/text"]
    assert "does not parse" in problems["/steps/2/if"]
    assert "does not parse" in problems["/output/x"]


def test_literal_inputs_that_break_the_schema() -> None:
    flow = edited(steps__0__with={"text": 42, "max_len": "long", "colour": "red"})
    problems = problems_of(flow)
    assert problems["/steps/0/with/text"] == "42 is not of type 'string'"
    assert problems["/steps/0/with/max_len"] == "'long' is not of type 'integer'"
    assert problems["/steps/0/with/colour"] == "text.slugify@1.0.0 has no input 'colour'"


def test_missing_required_input() -> None:
    problems = problems_of(edited(steps__0__with={}))
    assert problems["/steps/0/with"] == "missing required input 'text' of text.slugify@1.0.0"


def test_retry_and_timeout_above_the_manifest() -> None:
    flow = edited(steps__1__timeout_s=60, steps__1__retry={"max_attempts": 10})
    problems = problems_of(flow)
    assert problems["/steps/1/timeout_s"] == "60 s is above leads.score@2.1.0's limit of 30 s"
    assert (
        "above leads.score@2.1.0's limit of 3 attempts" in problems["/steps/1/retry/max_attempts"]
    )


def test_structural_errors_name_the_field() -> None:
    problems = problems_of({"name": "x", "steps": [{"id": "Bad Id", "uses": "nope", "wat": 1}]})
    assert "is not a step id" in problems["/steps/0/id"]
    assert "name@version" in problems["/steps/0/uses"]
    assert "Extra inputs are not permitted" in problems["/steps/0/wat"]
    assert "/steps" in problems_of({"name": "empty", "steps": []})


def test_all_problems_are_reported_at_once() -> None:
    flow = edited(steps__0__uses="text.nope@1.0.0", steps__2__id="clean", steps__1__timeout_s=99)
    assert len(problems_of(flow)) >= 3
