"""`stepwell step run` and `stepwell step test` against the real sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke, WriteStep

pytestmark = pytest.mark.docker


@pytest.fixture(autouse=True)
def _engine(base_image: str) -> None:
    """The base image must exist (and the engine answer) before the CLI runs a step."""


def test_run_prints_output_logs_and_duration(cli: Invoke, tmp_path: Path) -> None:
    directory = tmp_path / "shout"
    assert cli("step", "new", "text.shout", str(directory)).exit_code == 0
    result = cli("step", "run", str(directory), "--input", '{"text": "hi"}')
    assert result.exit_code == 0, result.output
    assert '"HI"' in result.output
    assert "processing 2 characters" in result.output
    assert "succeeded in" in result.output


def test_run_json_reports_a_failure_with_the_traceback(
    cli: Invoke, write_step: WriteStep, tmp_path: Path
) -> None:
    directory = write_step(
        """
        from step_sdk import step

        @step
        def divide(a: float, b: float) -> float:
            print("dividing")
            return a / b
        """
    )
    (tmp_path / "input.json").write_text('{"a": 1, "b": 0}')
    result = cli("step", "run", str(directory), "--input", f"@{tmp_path / 'input.json'}", "--json")
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert set(document) == {
        "status",
        "output",
        "error",
        "logs",
        "duration_ms",
        "connections",
        "artifacts",
    }
    assert document["connections"] == []  # no egress, no network
    assert document["status"] == "failed"
    assert document["error"]["type"] == "StepError"
    assert document["error"]["message"] == "ZeroDivisionError: float division by zero"
    assert "return a / b" in document["error"]["traceback"]
    assert "step_sdk" not in document["error"]["traceback"]
    assert document["logs"] == "dividing\n"


def test_run_json_success(cli: Invoke, write_step: WriteStep) -> None:
    directory = write_step(
        "from step_sdk import step\n\n@step\ndef add(a: int, b: int) -> int:\n    return a + b\n"
    )
    result = cli("step", "run", str(directory), "-i", '{"a": 2, "b": 3}', "--json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["status"] == "succeeded" and document["output"] == 5
    assert document["error"] is None and document["duration_ms"] > 0


def test_test_reports_each_example_with_a_diff_on_mismatch(
    cli: Invoke, write_step: WriteStep
) -> None:
    directory = write_step(
        """
        from step_sdk import step

        @step(examples=[
            {"input": {"text": "a b"}, "output": {"slug": "a-b"}},
            {"input": {"text": "C D"}, "output": {"slug": "C-D"}},
        ])
        def slug(text: str) -> dict[str, str]:
            return {"slug": "-".join(text.lower().split())}
        """
    )
    result = cli("step", "test", str(directory))
    assert result.exit_code == 1
    assert "1 passed, 1 failed" in result.output
    assert '-  "slug": "C-D"' in result.output and '+  "slug": "c-d"' in result.output


def test_test_without_examples_says_so(cli: Invoke, write_step: WriteStep) -> None:
    directory = write_step(
        "from step_sdk import step\n\n@step\ndef f(a: int) -> int:\n    return a\n"
    )
    result = cli("step", "test", str(directory))
    assert result.exit_code == 1
    assert "declares no examples" in result.output
