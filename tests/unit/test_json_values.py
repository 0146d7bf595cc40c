"""Values JSON cannot carry (non-finite numbers, lone surrogates) are named by JSON pointer."""

from __future__ import annotations

import pytest

from sandbox.errors import ErrorType
from sandbox.frame import FrameError, parse_frame
from step_sdk.json_values import describe, json_value_problems, printable


def test_every_unjsonable_value_is_named_by_its_pointer() -> None:
    value = {
        "values": [40, float("nan"), float("inf"), -float("inf")],
        "company": "ACME \ud83d",
        "files": ["caf\udce9.txt"],
        "a/b": {"x\udce9": 1},
        "fine": ["café", "😀", 1.5, None],
    }
    problems = dict(json_value_problems(value))
    assert set(problems) == {"/values/1", "/values/2", "/values/3", "/company", "/files/0",
                             "/a~1b/x\\udce9"}  # fmt: skip
    assert "nan is not a JSON number" in problems["/values/1"]
    assert "lone surrogate \\ud83d" in problems["/company"]
    assert "the key contains a lone surrogate \\udce9" in problems["/a~1b/x\\udce9"]


def test_problems_and_pointers_are_always_encodable() -> None:
    text = describe(json_value_problems({"\ud83d": "\udce9"}))
    text.encode("utf-8")  # would raise UnicodeEncodeError if a surrogate leaked into the message
    assert printable("caf\udce9") == "caf\\udce9" and printable("café") == "café"


@pytest.mark.parametrize(
    ("raw", "pointer"),
    [
        (b'{"ok":true,"output":{"v":[1,NaN]}}\n', "/v/1"),
        (b'{"ok":true,"output":{"v":Infinity}}\n', "/v"),
        (b'{"ok":true,"output":[-Infinity]}\n', "/0"),
        (b'{"ok":true,"output":{"big":1e999}}\n', "/big"),
        (b'{"ok":true,"output":"\\ud83d"}\n', "/"),
        (b'{"ok":true,"output":{"name":"caf\\udce9.txt"}}\n', "/name"),
    ],
)
def test_host_refuses_frames_json_cannot_carry(raw: bytes, pointer: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(raw, max_depth=64)
    assert caught.value.error_type is ErrorType.OUTPUT_VALIDATION
    assert str(caught.value).startswith(f"{pointer}: ")


def test_error_frames_with_surrogates_become_printable_text() -> None:
    raw = (
        b'{"ok":false,"error":{"type":"StepError","exception":"OSError",'
        b'"message":"no such file caf\\udce9.txt","traceback":"x \\ud83d"}}\n'
    )
    frame = parse_frame(raw, max_depth=64)
    assert frame.message == "no such file caf\\udce9.txt" and frame.traceback == "x \\ud83d"
