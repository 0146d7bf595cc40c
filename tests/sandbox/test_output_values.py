"""Outputs JSON cannot carry fail as OutputValidationError naming the pointer, in the real
sandbox exactly as in ``step_sdk.testing.call``; odd log bytes never break anything."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from sandbox.errors import ErrorType
from step_sdk.decorator import Step
from step_sdk.errors import OutputValidationError
from step_sdk.testing import call
from tests.sandbox.conftest import RunStep

pytestmark = pytest.mark.docker

SDK_STEP = """
import os
from step_sdk import step

@step(name="tests.attack", version="1.0.0")
def main(kind: str) -> dict:
    return {
        "nan": {"values": [40, float("nan")]},
        "inf": {"total": float("inf")},
        "surrogate": {"company": "ACME \\ud83d"},
        "filename": {"files": [os.fsdecode(b"caf\\xe9.txt")]},
    }[kind]
"""


def _in_process_step() -> Step[..., Any]:
    namespace: dict[str, Any] = {}
    exec(textwrap.dedent(SDK_STEP), namespace)  # the same source the container runs
    step: Step[..., Any] = namespace["main"]
    return step


@pytest.mark.parametrize(
    ("kind", "pointer"),
    [("nan", "/values/1"), ("inf", "/total"), ("surrogate", "/company"), ("filename", "/files/0")],
)
def test_sdk_step_fails_the_same_in_the_sandbox_and_in_call(
    run_step: RunStep, kind: str, pointer: str
) -> None:
    result = run_step(SDK_STEP, {"kind": kind})
    assert result.error is not None and result.error.type is ErrorType.OUTPUT_VALIDATION
    assert result.error.message.startswith(f"{pointer}: ")
    with pytest.raises(OutputValidationError) as caught:
        call(_in_process_step(), {"kind": kind})
    assert str(caught.value) == result.error.message


@pytest.mark.parametrize(
    ("returned", "pointer", "problem"),
    [
        ('{"v": [1, float("nan")]}', "/v/1", "nan is not a JSON number"),
        ('float("-inf")', "/", "-inf is not a JSON number"),
        ('"\\ud83d"', "/", "lone surrogate \\ud83d"),
        ('{"name": os.fsdecode(b"caf\\xe9.txt")}', "/name", "lone surrogate \\udce9"),
        ('{os.fsdecode(b"k\\xff"): 1}', "/k\\udcff", "the key contains a lone surrogate"),
    ],
)
def test_plain_function_outputs_json_cannot_carry_are_named(
    run_step: RunStep, returned: str, pointer: str, problem: str
) -> None:
    result = run_step(f"import os\ndef main():\n    return {returned}\n")
    assert result.error is not None and result.error.type is ErrorType.OUTPUT_VALIDATION
    assert result.error.message.startswith(f"{pointer}: ") and problem in result.error.message


def test_host_refuses_a_forged_frame_the_runner_would_not_write(run_step: RunStep) -> None:
    # The step writes straight onto the runner's private result channel (fd 3) and exits.
    result = run_step(
        """
        import os
        def main():
            os.write(3, b'{"ok":true,"output":{"x":[1e999, "\\\\ud83d"]}}\\n')
            os._exit(0)
        """
    )
    assert result.error is not None and result.error.type is ErrorType.OUTPUT_VALIDATION
    assert result.error.message.startswith("/x/0: inf is not a JSON number")
    assert "; /x/1: the text contains a lone surrogate" in result.error.message


def test_error_text_and_logs_with_odd_bytes_are_always_printable(run_step: RunStep) -> None:
    result = run_step(
        """
        import os, sys
        def main():
            sys.stderr.buffer.write(b"bad utf-8 \\xff\\xed\\xa0\\xbd end\\n")
            print("surrogate", os.fsdecode(b"caf\\xe9"), file=sys.stderr)
            raise FileNotFoundError(os.fsdecode(b"caf\\xe9.txt"))
        """
    )
    assert result.error is not None and result.error.type is ErrorType.STEP
    for text in (result.logs, result.error.message, result.error.traceback):
        text.encode("utf-8")
    assert "caf\\udce9.txt" in result.error.message
    assert "end" in result.logs
