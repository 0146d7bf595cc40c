"""Strict parsing of the result frame and the host's verdict on a finished container."""

from __future__ import annotations

import pytest

from sandbox.errors import ErrorType
from sandbox.frame import FrameError, json_depth, parse_frame
from sandbox.outcome import Observation, classify


def observe(result: bytes, **facts: object) -> Observation:
    defaults: dict[str, object] = {
        "exit_code": 0,
        "oom_killed": False,
        "timed_out": False,
        "result_over_cap": False,
        "log_flooded": False,
        "timeout_s": 30.0,
        "memory_mb": 256,
        "output_kb": 1024,
        "log_kb": 1024,
        "max_depth": 64,
    }
    return Observation(result=result, **{**defaults, **facts})  # type: ignore[arg-type]


def test_ok_frame_parses() -> None:
    frame = parse_frame(b'{"ok":true,"output":{"a":[1,2]}}\n', max_depth=64)
    assert frame.ok and frame.output == {"a": [1, 2]}


def test_error_frame_keeps_the_step_traceback() -> None:
    raw = (
        b'{"ok":false,"error":{"type":"StepError","exception":"KeyError",'
        b'"message":"KeyError: 1","traceback":"Traceback..."}}\n'
    )
    frame = parse_frame(raw, max_depth=64)
    assert not frame.ok and frame.exception == "KeyError" and frame.traceback == "Traceback..."


@pytest.mark.parametrize(
    ("raw", "error_type"),
    [
        (b"", ErrorType.STEP),
        (b'{"ok":true,"output":1}', ErrorType.OUTPUT_VALIDATION),
        (b'{"ok":true,"output":1}\n{"ok":true,"output":2}\n', ErrorType.OUTPUT_VALIDATION),
        (b'{"ok":true,"output":NaN}\n', ErrorType.OUTPUT_VALIDATION),
        (b'{"ok":true,"output":1,"extra":2}\n', ErrorType.OUTPUT_VALIDATION),
        (b'{"ok":"yes","output":1}\n', ErrorType.OUTPUT_VALIDATION),
        (b'{"ok":false,"error":"boom"}\n', ErrorType.OUTPUT_VALIDATION),
        (b'"\xff"\n', ErrorType.OUTPUT_VALIDATION),
        (b'{"ok":true,"output":' + b"[" * 100 + b"]" * 100 + b"}\n", ErrorType.OUTPUT_LIMIT),
    ],
)
def test_malformed_channels_are_refused(raw: bytes, error_type: ErrorType) -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(raw, max_depth=64)
    assert caught.value.error_type is error_type


def test_a_frame_cannot_claim_an_infrastructure_error() -> None:
    raw = (
        b'{"ok":false,"error":{"type":"SandboxError","exception":"x","message":"m",'
        b'"traceback":""}}\n'
    )
    assert parse_frame(raw, max_depth=64).error_type is ErrorType.STEP


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth('{"a": "[[[[[", "b": [[1]]}') == 3


def test_host_facts_beat_the_frame() -> None:
    good = b'{"ok":true,"output":1}\n'
    assert classify(observe(good))[0] == 1
    assert classify(observe(good, timed_out=True))[1].type is ErrorType.TIMEOUT  # type: ignore[union-attr]
    assert classify(observe(good, oom_killed=True))[1].type is ErrorType.MEMORY  # type: ignore[union-attr]
    assert classify(observe(good, result_over_cap=True))[1].type is ErrorType.OUTPUT_LIMIT  # type: ignore[union-attr]


def test_exit_without_frame_names_the_exit_code() -> None:
    _, failure = classify(observe(b"", exit_code=137))
    assert failure is not None and failure.type is ErrorType.STEP
    assert "exited with code 137" in failure.message
