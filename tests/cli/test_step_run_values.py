"""`stepwell step run` on steps whose output JSON cannot carry: a clean contract error, never a
UnicodeEncodeError, in human and `--json` form, in-process and as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke, WriteStep

pytestmark = pytest.mark.docker

SURROGATE_STEP = """
import os, sys
from step_sdk import step

@step
def name(kind: str) -> str:
    sys.stderr.buffer.write(b"odd log bytes \\xff\\xed\\xa0\\xbd\\n")
    print("file", os.fsdecode(b"caf\\xe9.txt"))
    return {"lone": "\\ud83d", "file": os.fsdecode(b"caf\\xe9.txt"), "nan": float("nan")}[kind]
"""


@pytest.fixture(autouse=True)
def _engine(base_image: str) -> None:
    """The base image must exist before the CLI runs a step."""


@pytest.mark.parametrize(
    ("kind", "problem"),
    [("lone", "lone surrogate \\ud83d"), ("file", "lone surrogate \\udce9"), ("nan", "nan is")],
)
def test_run_reports_unjsonable_outputs_cleanly(
    cli: Invoke, write_step: WriteStep, kind: str, problem: str
) -> None:
    directory = write_step(SURROGATE_STEP)
    human = cli("step", "run", str(directory), "-i", json.dumps({"kind": kind}))
    assert human.exit_code == 1, human.output
    assert "OutputValidationError" in human.output and problem in human.output
    as_json = cli("step", "run", str(directory), "-i", json.dumps({"kind": kind}), "--json")
    document = json.loads(as_json.output)
    assert document["status"] == "failed"
    assert document["error"]["type"] == "OutputValidationError"
    message = document["error"]["message"]
    assert message.startswith("/: ") and problem in message
    assert "odd log bytes" in document["logs"]


@pytest.mark.parametrize("extra", [[], ["--json"]])
@pytest.mark.parametrize("encoding", ["utf-8:strict", "ascii:strict"])
def test_the_real_command_never_crashes_printing(
    write_step: WriteStep, extra: list[str], encoding: str
) -> None:
    directory = write_step(SURROGATE_STEP)
    stepwell = Path(sys.executable).parent / "stepwell"
    env = {**os.environ, "PYTHONIOENCODING": encoding, "NO_COLOR": "1"}
    done = subprocess.run(
        [str(stepwell), "step", "run", str(directory), "-i", '{"kind": "lone"}', *extra],
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stderr and b"UnicodeEncodeError" not in done.stderr
    assert b"OutputValidationError" in done.stdout
