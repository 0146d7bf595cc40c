"""The CLI refuses JSON that no run can carry, and `flow run --steps` leaves step folders alone.

Nothing here reaches Docker or Temporal: the refusals come first, and `flow run` is pointed at
an address where no Temporal listens.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stepwell.cli.output import print_json
from tests.cli.conftest import Invoke

REPO = Path(__file__).resolve().parents[2]
NOBODY = "127.0.0.1:1"  # nothing listens there

BAD_INPUTS = [
    ('{"text": NaN}', "/text", "not a JSON number"),
    ('{"values": [1, Infinity]}', "/values/1", "not a JSON number"),
    ('{"values": [-Infinity]}', "/values/0", "not a JSON number"),
    ('{"amount": 1e999}', "/amount", "not a JSON number"),
    ('{"company": "ACME \\ud83d"}', "/company", "lone surrogate"),
    ('{"caf\\udce9": 1}', "/caf\\udce9", "lone surrogate"),
]


@pytest.fixture
def steps(tmp_path: Path) -> Path:
    copy = tmp_path / "steps"
    shutil.copytree(REPO / "examples" / "steps", copy)
    return copy


def _files(directory: Path) -> set[Path]:
    return {path.relative_to(directory) for path in directory.rglob("*")}


@pytest.mark.parametrize(("text", "pointer", "says"), BAD_INPUTS)
def test_step_run_refuses_input_no_run_can_carry(
    cli: Invoke, steps: Path, tmp_path: Path, text: str, pointer: str, says: str
) -> None:
    for option in (text, "@" + str(_write(tmp_path / "input.json", text))):
        result = cli("step", "run", str(steps / "slugify"), "--input", option)
        assert result.exit_code == 2, result.output
        assert f"{pointer}: " in result.output and says in result.output, result.output


@pytest.mark.parametrize(("text", "pointer", "says"), BAD_INPUTS)
def test_flow_run_refuses_input_no_run_can_carry(
    cli: Invoke,
    steps: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    pointer: str,
    says: str,
) -> None:
    monkeypatch.setenv("STEPWELL_TEMPORAL_ADDRESS", NOBODY)
    flow = str(REPO / "examples" / "flows" / "lead.json")
    result = cli("flow", "run", flow, "--steps", str(steps), "-i", text)
    assert result.exit_code == 2, result.output
    assert f"--input holds values JSON cannot carry: {pointer}: " in result.output
    assert says in result.output


def test_flow_run_refuses_a_definition_file_with_nan(
    cli: Invoke, steps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPWELL_TEMPORAL_ADDRESS", NOBODY)
    text = (REPO / "examples" / "flows" / "lead.json").read_text()
    flow = _write(tmp_path / "flow.json", text.replace("{", '{"vars": {"x": NaN},', 1))
    result = cli("flow", "run", str(flow), "--steps", str(steps))
    assert result.exit_code == 2, result.output
    assert "/vars/x: " in result.output


def test_input_files_that_are_not_utf8_are_refused(
    cli: Invoke, steps: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "input.json"
    bad.write_bytes(b'{"text": "\xff"}')
    result = cli("step", "run", str(steps / "slugify"), "--input", f"@{bad}")
    assert result.exit_code == 2 and "not UTF-8" in result.output, result.output


def test_flow_run_writes_nothing_into_the_step_folders(
    cli: Invoke, steps: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPWELL_TEMPORAL_ADDRESS", NOBODY)
    before = _files(steps)
    flow = str(REPO / "examples" / "flows" / "lead.json")
    result = cli("flow", "run", flow, "--steps", str(steps), "-i", '{"company": "A", "values": []}')
    assert result.exit_code == 1 and "cannot reach Temporal" in result.output, result.output
    assert _files(steps) == before  # no stepwell.json (nor anything else) appeared


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_json_output_with_a_lone_surrogate_prints_its_escape(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_json({"name": "caf\udce9.txt", "ok": "caf\u00e9"})
    printed = capsys.readouterr().out
    printed.encode("utf-8")  # real text, printable anywhere
    assert '"caf\\udce9.txt"' in printed  # the JSON escape of the value
    assert json.loads(printed) == {"name": "caf\udce9.txt", "ok": "caf\u00e9"}
