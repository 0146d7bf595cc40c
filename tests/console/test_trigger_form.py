"""The run-by-hand form's logic, without a browser: what a flow reads from ``trigger`` becomes
a JSON Schema (typed from the reading step's input schema, text when embedded in text, any JSON
otherwise), JSON fields are parsed, and the rjsf validator on @cfworker/json-schema reports
errors where rjsf expects them. The TypeScript is bundled with the console's esbuild and run
by node."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.console.flows import lead_definition

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
ENTRY = Path(__file__).resolve().parent / "units" / "trigger_form.ts"

SLUGIFY_INPUT = {
    "type": "object",
    "properties": {"text": {"type": "string", "title": "Text"}, "max_len": {"type": "integer"}},
    "required": ["text"],
}
STATS_INPUT = {
    "type": "object",
    "properties": {"values": {"type": "array", "items": {"type": "number"}, "minItems": 1}},
    "required": ["values"],
}


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("units") / "trigger_form.mjs"
    subprocess.run(
        [
            str(CONSOLE / "node_modules" / ".bin" / "esbuild"),
            str(ENTRY),
            "--bundle",
            "--platform=node",
            "--format=esm",
            "--log-level=warning",
            f"--outfile={out}",
        ],
        cwd=CONSOLE,
        check=True,
        timeout=120,
    )
    return out


def run(program: Path, *cases: dict[str, Any]) -> list[Any]:
    done = subprocess.run(
        ["node", str(program)],
        input=json.dumps(list(cases)),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    results: list[Any] = json.loads(done.stdout)
    return results


def form_of(program: Path, flow: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    [form] = run(program, {"kind": "form", "flow": flow, "inputs": inputs})
    return dict(form)


def test_the_example_flow_gives_typed_required_fields(program: Path) -> None:
    inputs = {"text.slugify@1.0.0": SLUGIFY_INPUT, "math.stats@1.0.0": STATS_INPUT}
    form = form_of(program, lead_definition(), inputs)
    properties = form["schema"]["properties"]
    assert sorted(properties) == ["company", "values"]
    assert properties["company"]["type"] == "string"
    assert "step clean (text.slugify@1.0.0)" in properties["company"]["description"]
    # `values` is also read whole by a foreach (any JSON): the typed reading wins
    assert properties["values"]["type"] == "array"
    assert properties["values"]["items"] == {"type": "number"}
    assert properties["values"]["minItems"] == 1
    assert sorted(form["schema"]["required"]) == ["company", "values"]
    assert form["jsonFields"] == []
    assert form["readsWholeTrigger"] is False and form["empty"] is False


def test_text_nested_paths_any_json_and_the_whole_trigger(program: Path) -> None:
    flow = {
        "name": "shapes",
        "steps": [
            {
                "id": "a",
                "uses": "text.slugify@1.0.0",
                "with": {
                    "text": "Hello {{ trigger.person.name }}",
                    "max_len": "{{ to_number(trigger.limit) }}",
                },
                "if": "trigger.flags[0]",
            },
            {
                "id": "b",
                "uses": "unknown.step@1.0.0",
                "with": {"nested": {"deep": "{{ trigger.person.email }}"}, "all": "{{ trigger }}"},
                "foreach": "{{ trigger.items[*].id }}",
            },
        ],
        "output": {"echo": "{{ trigger.echo }}"},
    }
    form = form_of(program, flow, {"text.slugify@1.0.0": SLUGIFY_INPUT})
    properties = form["schema"]["properties"]
    assert sorted(properties) == ["echo", "flags", "items", "limit", "person"]
    person = properties["person"]
    assert person["type"] == "object"
    assert person["properties"]["name"]["type"] == "string"  # embedded in text
    assert "inside text" in person["properties"]["name"]["description"]
    assert "Any JSON" in person["properties"]["email"]["description"]  # not a top-level input
    assert sorted(map(tuple, form["jsonFields"])) == [
        ("echo",),
        ("flags",),
        ("items",),
        ("limit",),
        ("person", "email"),
    ]
    assert form["uiSchema"]["limit"]["ui:widget"] == "textarea"
    assert form["readsWholeTrigger"] is True
    assert "required" not in form["schema"]


def test_a_flow_that_reads_no_trigger_gives_an_empty_form(program: Path) -> None:
    flow = {"name": "quiet", "steps": [{"id": "a", "uses": "x.y@1.0.0", "with": {"t": "fixed"}}]}
    form = form_of(program, flow, {})
    assert form["empty"] is True
    assert form["schema"] == {"type": "object", "properties": {}}
    assert form["jsonFields"] == []


def test_json_fields_are_parsed_empty_ones_left_out_and_bad_ones_named(program: Path) -> None:
    fields = [["limit"], ["person", "email"], ["echo"], ["items"]]
    data = {
        "limit": "42",
        "person": {"name": "Ada", "email": '"ada@example.com"'},
        "echo": "  ",
        "items": "[1, 2",
    }
    [parsed] = run(program, {"kind": "input", "data": data, "jsonFields": fields})
    assert parsed["input"] == {
        "limit": 42,
        "person": {"name": "Ada", "email": "ada@example.com"},
        "items": "[1, 2",
    }
    [error] = parsed["errors"]
    assert error["path"] == ["items"] and error["message"].startswith("not JSON")


def test_the_validator_puts_errors_where_rjsf_looks_for_them(program: Path) -> None:
    schema = {
        "type": "object",
        "properties": {
            "company": {"type": "string"},
            "values": {"type": "array", "items": {"type": "number"}},
        },
        "required": ["company"],
    }
    [missing, wrong, fine] = run(
        program,
        {"kind": "validate", "schema": schema, "data": {"values": [1]}},
        {"kind": "validate", "schema": schema, "data": {"company": "x", "values": [1, "two"]}},
        {"kind": "validate", "schema": schema, "data": {"company": "x", "values": [1, 2]}},
    )
    assert missing == [{"property": ".company", "message": "is a required property"}]
    [type_error] = wrong
    assert type_error["property"] == ".values.1"
    assert "number" in type_error["message"]
    assert fine == []
