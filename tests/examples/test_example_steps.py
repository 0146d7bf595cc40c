"""The example steps under ``examples/steps``: every declared example holds in the real sandbox.

Each directory is copied to ``tmp_path`` first: building writes ``stepwell.json`` beside the code
and importing it writes ``__pycache__``, and neither belongs in the repository.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.envelope import Envelope, StepContext
from sandbox.errors import ErrorType
from sandbox.launcher import Sandbox
from step_sdk.manifest import MANIFEST_FILE
from step_sdk.project import build_directory, load_step
from step_sdk.runtimes import NODE
from step_sdk.testing import call
from step_sdk.validation import schema_problems

pytestmark = [pytest.mark.docker, pytest.mark.network]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "steps"
STEP_DIRS = sorted(
    p.name for p in EXAMPLES.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
)
# Steps that call hosts on the internet: their examples cannot run here, so they have none and
# tests/examples/test_egress_examples.py and test_browser_examples.py run them against local
# servers instead.
NETWORK = ("chat_webhook", "http_request", "web_form", "web_screenshot")
OFFLINE_DIRS = [name for name in STEP_DIRS if name not in NETWORK]
# Steps without requirements, so their code also runs in this process (see the last test).
IN_PROCESS = ("csv_parse", "slugify", "stats", "timezone")
# Files a step directory may hold besides its own: what building and importing it leave behind.
GENERATED = {MANIFEST_FILE, "dist", "__pycache__"}
# JavaScript steps (step.json + step.mjs), each with npm dependencies in a cached layer.
JAVASCRIPT = ("data_group", "date_format", "html_extract")


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(*GENERATED))
    return target


@pytest.fixture(autouse=True)
def _forget_step_module() -> Iterator[None]:
    """``load_step`` leaves the last example imported as ``step``; do not leak it to other tests."""
    yield
    sys.modules.pop("step", None)


def test_there_are_at_least_seven_examples_each_a_step_and_a_readme() -> None:
    assert len(STEP_DIRS) >= 10, STEP_DIRS
    for name in STEP_DIRS:
        files = {p.name for p in (EXAMPLES / name).iterdir()} - GENERATED
        expected = {"step.json", "step.mjs"} if name in JAVASCRIPT else {"step.py"}
        assert files == {*expected, "README.md"}, (name, sorted(files))


@pytest.mark.parametrize("name", OFFLINE_DIRS)
def test_every_example_passes_in_the_sandbox(name: str, sandbox: Sandbox, tmp_path: Path) -> None:
    bundle = build_directory(_copy(name, tmp_path))
    manifest = bundle.manifest
    assert manifest.version in ("1.0.0", "1.0.1")  # 1.0.1: output_kb lowered to fit Temporal
    assert manifest.title
    assert manifest.description
    if name in JAVASCRIPT:
        assert manifest.runtime == NODE
        assert manifest.entrypoint == "step.mjs"
        assert manifest.requirements, "a JavaScript example shows npm dependencies"
        assert set(bundle.files) == {"step.mjs", "step.json", MANIFEST_FILE}
    else:
        assert manifest.entrypoint.startswith("step:")
        assert set(bundle.files) == {"step.py", "README.md", MANIFEST_FILE}
    assert 2 <= len(manifest.examples) <= 3, manifest.ref
    for index, example in enumerate(manifest.examples, start=1):
        # The examples are documentation too: they must match the published schemas.
        assert schema_problems(manifest.input_schema, example.input) == [], (name, index)
        assert schema_problems(manifest.output_schema, example.output) == [], (name, index)
        envelope = Envelope(
            input=example.input,
            context=StepContext(run_id=f"examples-{name}", step_id=f"{name}-{index}"),
        )
        result = sandbox.run(bundle, envelope)
        assert result.error is None, (manifest.ref, index, result.error, result.logs)
        assert result.output == example.output, (manifest.ref, index)


@pytest.mark.parametrize(
    ("name", "payload", "error_type", "message"),
    [
        (
            "jmespath",
            {"data": {"a": 1}, "expression": "people[?age >"},
            ErrorType.STEP,
            "ValueError: invalid JMESPath expression 'people[?age >': it ends too early",
        ),
        (
            "timezone",
            {"when": "2024-01-01T00:00:00Z", "to_tz": "Mars/Olympus_Mons"},
            ErrorType.STEP,
            "ValueError: to_tz: 'Mars/Olympus_Mons' is not an IANA time zone name",
        ),
        (
            "csv_parse",
            {"text": "a,b\n1,2,3\n"},
            ErrorType.STEP,
            "ValueError: data row 1 has 3 cells but the header has 2 columns",
        ),
        ("stats", {"values": []}, ErrorType.INPUT_VALIDATION, "/values"),
        (
            "date_format",
            {"when": "2024-01-01T00:00:00Z", "tz": "Mars/Olympus_Mons"},
            ErrorType.STEP,
            "RangeError: tz: 'Mars/Olympus_Mons' is not an IANA time zone name",
        ),
        (
            "html_extract",
            {"html": "<p>hi</p>", "select": {"bad": "p[["}},
            ErrorType.STEP,
            "SyntaxError: select/bad: 'p[[' is not a CSS selector",
        ),
    ],
    ids=[
        "jmespath-bad-expression",
        "timezone-unknown-zone",
        "csv_parse-ragged-row",
        "stats-empty",
        "date_format-unknown-zone",
        "html_extract-bad-selector",
    ],
)
def test_bad_input_fails_with_a_clear_message(
    name: str,
    payload: dict[str, object],
    error_type: ErrorType,
    message: str,
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    bundle = build_directory(_copy(name, tmp_path))
    result = sandbox.run(bundle, Envelope(input=payload))
    assert result.output is None
    assert result.error is not None, result.output
    assert result.error.type == error_type, result.error
    assert message in result.error.message, result.error.message
    assert "\n" not in result.error.message


def test_in_process_calls_agree_with_the_examples(tmp_path: Path) -> None:
    """``step_sdk.testing.call`` gives the declared outputs for the steps without requirements."""
    checked = 0
    for name in IN_PROCESS:
        definition = load_step(_copy(name, tmp_path))
        manifest = definition.manifest
        assert manifest.requirements == (), f"{name} has requirements: not for in-process tests"
        assert manifest.input_schema["type"] == "object"
        assert manifest.input_schema["additionalProperties"] is False
        assert manifest.output_schema["type"] == "object"
        for example in manifest.examples:
            assert call(definition, example.input) == example.output, (name, example.input)
            checked += 1
    assert checked >= 2 * len(IN_PROCESS)

    # What the README files promise about the schemas.
    stats = load_step(_copy("stats", tmp_path / "again")).manifest
    assert stats.input_schema["properties"]["values"]["minItems"] == 1
    assert stats.input_schema["required"] == ["values"]
    assert set(stats.output_schema["required"]) == {
        "count",
        "mean",
        "median",
        "stdev",
        "min",
        "max",
    }
    csv = load_step(_copy("csv_parse", tmp_path / "again")).manifest
    delimiter = csv.input_schema["properties"]["delimiter"]
    assert (delimiter["minLength"], delimiter["maxLength"], delimiter["default"]) == (1, 1, ",")
