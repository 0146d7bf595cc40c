"""The builder's logic behind review 13's items 3 and 9, without a browser, for the schema
kinds no catalogue step has: which input schemas rjsf cannot render (those get a JSON literal
editor), and which "required" problems move onto the input they name. The TypeScript is
bundled with the console's esbuild and run by node."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
ENTRY = Path(__file__).resolve().parent / "units" / "builder_schemas.ts"


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("units") / "builder_schemas.mjs"
    esbuild = str(CONSOLE / "node_modules" / ".bin" / "esbuild")
    subprocess.run(
        [esbuild, str(ENTRY), "--bundle", "--platform=node", "--format=esm",
         "--log-level=warning", f"--outfile={out}"],
        cwd=CONSOLE, check=True, timeout=120,
    )  # fmt: skip
    return out


def run(program: Path, *cases: dict[str, Any]) -> list[Any]:
    done = subprocess.run(
        ["node", str(program)], input=json.dumps(list(cases)), capture_output=True, text=True,
        check=True, timeout=60,
    )  # fmt: skip
    return list(json.loads(done.stdout))


@pytest.mark.parametrize(
    ("schema", "renders"),
    [
        ({"type": "string"}, True),
        ({"type": ["integer", "null"]}, True),
        ({"properties": {"a": {"type": "string"}}}, True),
        ({"enum": ["a", "b"]}, True),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, True),
        ({"$ref": "#/$defs/Thing"}, True),
        ({"title": "Data", "description": "Any JSON value."}, False),
        ({}, False),
        (True, False),
        ({"type": ["string", "number"]}, False),
        ({"type": "date"}, False),
    ],
)
def test_which_schemas_get_a_json_literal_editor(program: Path, schema: Any, renders: bool) -> None:
    assert run(program, {"kind": "renders", "schema": schema}) == [renders]


def test_required_problems_name_their_input(program: Path) -> None:
    messages = [
        "missing required input 'text' of text.slugify@1.0.0",
        'missing required input "it\'s" of x.y@1.0.0',
        "'city' is a required property",
        "1 is less than the minimum of 2",
    ]
    cases = [{"kind": "required", "message": message} for message in messages]
    assert run(program, *cases) == ["text", "it's", "city", None]


def test_a_missing_required_input_is_placed_on_it(program: Path) -> None:
    problems = [
        {"pointer": "/definition/steps/0/with", "message": "missing required input 'text' of s@1"},
        {"pointer": "/definition/steps/0/with/address", "message": "'city' is a required property"},
        {"pointer": "/definition/steps/0/with", "message": "something else"},
    ]
    [inputs] = run(program, {"kind": "place", "problems": problems, "selected": 0})
    assert inputs == {
        "text": {"__errors": ["missing required input 'text' of s@1"]},
        "address": {"city": {"__errors": ["'city' is a required property"]}},
        "__errors": ["something else"],
    }
