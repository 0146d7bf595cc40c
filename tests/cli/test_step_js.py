"""``stepwell step new --lang js``, ``schema`` and ``build`` on JavaScript steps, without Docker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from step_sdk.bundle import read_bundle
from step_sdk.runtimes import NODE
from tests.cli.conftest import Invoke


@pytest.fixture
def scaffolded(cli: Invoke, tmp_path: Path) -> Path:
    directory = tmp_path / "shout"
    result = cli("step", "new", "text.shout", str(directory), "--lang", "js")
    assert result.exit_code == 0, result.output
    assert "created" in result.output and "step.json, step.mjs, README.md" in result.output
    return directory


def test_new_scaffolds_step_json_a_module_and_a_readme(scaffolded: Path) -> None:
    assert sorted(p.name for p in scaffolded.iterdir()) == ["README.md", "step.json", "step.mjs"]
    document = json.loads((scaffolded / "step.json").read_text())
    assert document["name"] == "text.shout" and document["entrypoint"] == "step.mjs"
    assert document["examples"] == [
        {"input": {"text": "Hello World"}, "output": {"text": "HELLO WORLD", "length": 11}}
    ]
    module = (scaffolded / "step.mjs").read_text()
    assert "export default async function shout(input, ctx)" in module
    assert "ctx.log.info(" in module


def test_the_scaffold_module_gives_its_example_output(scaffolded: Path) -> None:
    """The example in step.json is what step.mjs returns (plain node, a stand-in ctx: the
    sandboxed run is `stepwell step test`, which needs the node20 runtime image)."""
    node = shutil.which("node")
    assert node is not None, "node is part of the set-up (it builds the console)"
    script = (
        "const m = await import(process.argv[1]);"
        "const logs = [];"
        "const ctx = {log: {info: (...a) => logs.push(a.join(' '))}};"
        "const out = await m.default({text: 'Hello World'}, ctx);"
        "console.log(JSON.stringify({out, logs}));"
    )
    answer = subprocess.run(
        [node, "--input-type=module", "-e", script, (scaffolded / "step.mjs").as_uri()],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    document = json.loads(answer.stdout)
    example = json.loads((scaffolded / "step.json").read_text())["examples"][0]
    assert document["out"] == example["output"]
    assert document["logs"] == ["processing 11 characters"]


def test_new_refuses_an_unknown_language(cli: Invoke, tmp_path: Path) -> None:
    result = cli("step", "new", "text.shout", str(tmp_path / "x"), "--lang", "ruby")
    assert result.exit_code == 2
    assert not (tmp_path / "x").exists()


def test_schema_reads_step_json(cli: Invoke, scaffolded: Path) -> None:
    result = cli("step", "schema", str(scaffolded))
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["input"]["required"] == ["text"]
    assert document["output"]["properties"]["length"] == {"type": "integer"}


def test_build_is_deterministic_and_holds_the_node20_manifest(
    cli: Invoke, scaffolded: Path, tmp_path: Path
) -> None:
    (scaffolded / "node_modules" / "dayjs").mkdir(parents=True)
    (scaffolded / "node_modules" / "dayjs" / "index.js").write_text("module.exports = 1;\n")
    first = cli("step", "build", str(scaffolded), "-o", str(tmp_path / "a.tgz"))
    assert first.exit_code == 0, first.output
    os.utime(scaffolded / "step.mjs", (0, 10**9))
    second = cli("step", "build", str(scaffolded), "-o", str(tmp_path / "b.tgz"))
    assert (tmp_path / "a.tgz").read_bytes() == (tmp_path / "b.tgz").read_bytes()
    digest = first.output.strip().splitlines()[-1]
    assert digest == second.output.strip().splitlines()[-1]
    with tarfile.open(tmp_path / "a.tgz") as tar:
        names = tar.getnames()
    assert names == ["step.json", "step.mjs", "stepwell.json"]
    bundle = read_bundle((tmp_path / "a.tgz").read_bytes())
    assert bundle.digest == digest
    assert (bundle.manifest.runtime, bundle.manifest.entrypoint) == (NODE, "step.mjs")
    written = json.loads((scaffolded / "stepwell.json").read_text())
    assert written["runtime"] == NODE and written["requirements"] == []


def test_build_names_the_bad_field_of_step_json(cli: Invoke, scaffolded: Path) -> None:
    document = json.loads((scaffolded / "step.json").read_text())
    document["dependencies"] = {"dayjs": "^1.11.13", "left-pad": "latest"}
    (scaffolded / "step.json").write_text(json.dumps(document))
    result = cli("step", "build", str(scaffolded))
    assert result.exit_code == 2
    assert "step.json: /dependencies/dayjs: '^1.11.13' is a version range" in result.output
    assert not (scaffolded / "dist").exists()


def test_build_points_at_the_line_and_column_of_broken_json(cli: Invoke, scaffolded: Path) -> None:
    (scaffolded / "step.json").write_text('{\n  "name": "text.shout"\n  "version": "1.0.0"\n}\n')
    result = cli("step", "build", str(scaffolded))
    assert result.exit_code == 2
    assert "step.json: not valid JSON at line 3, column 3" in result.output


def test_schema_never_imports_python_of_a_javascript_step(cli: Invoke, scaffolded: Path) -> None:
    marker = scaffolded.parent / "imported"
    (scaffolded / "step.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    for command in ("schema", "build"):
        assert cli("step", command, str(scaffolded)).exit_code == 0
    assert not marker.exists()


@pytest.mark.parametrize("lang", ["js", "python"])
def test_a_name_ending_in_a_digit_word_still_scaffolds_a_valid_function(
    cli: Invoke, tmp_path: Path, lang: str
) -> None:
    directory = tmp_path / lang
    assert cli("step", "new", "csv.2json", str(directory), "--lang", lang).exit_code == 0
    source = (directory / ("step.mjs" if lang == "js" else "step.py")).read_text()
    assert "function step_2json(" in source or "def step_2json(" in source
    assert cli("step", "schema", str(directory)).exit_code == 0
