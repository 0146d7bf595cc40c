"""A JavaScript step directory: step.json read as data, the bundle packed, no code run."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from step_sdk.bundle import MAX_ENTRIES, read_bundle
from step_sdk.manifest import MANIFEST_FILE
from step_sdk.project import ProjectError, build_directory, load_manifest
from step_sdk.runtimes import NODE
from step_sdk.step_json import StepJsonError
from step_sdk.step_json import load_manifest as load_step_json

MODULE = b"export default async (input, ctx) => ({ text: input.text });\n"


def step_json(**fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "text.echo",
        "version": "1.0.0",
        "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
    }
    document.update(fields)
    return document


def write(directory: Path, document: dict[str, Any] | str, **files: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = document if isinstance(document, str) else json.dumps(document, indent=2)
    (directory / "step.json").write_text(text)
    for name, content in {"step.mjs": MODULE, **files}.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return directory


def refusal(directory: Path) -> str:
    with pytest.raises(ProjectError) as caught:
        build_directory(directory, write_manifest=False)
    return str(caught.value)


def test_step_json_becomes_a_node20_manifest_with_defaults(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path / "s", step_json(dependencies={"dayjs": "1.11.13"})))
    assert manifest.runtime == NODE
    assert manifest.entrypoint == "step.mjs"
    assert manifest.requirements == ("dayjs@1.11.13",)
    assert manifest.limits.timeout_s == 30
    assert manifest.output_schema == {}


def test_every_manifest_field_is_read(tmp_path: Path) -> None:
    document = step_json(
        title="Echo",
        description="Answers its input.",
        entrypoint="src/main.js",
        dependencies={"zod": "3.23.8", "@types/node": "20.0.0"},
        output_schema={"type": "object"},
        limits={"timeout_s": 5, "memory_mb": 128, "cpus": 0.5, "output_kb": 64},
        retry={"max_attempts": 2, "non_retryable": ["StepError"]},
        secrets=["API_TOKEN"],
        examples=[{"input": {"text": "a"}, "output": {"text": "a"}}],
    )
    directory = write(tmp_path / "s", document, **{"src/main.js": MODULE})
    manifest = load_manifest(directory)
    assert manifest.entrypoint == "src/main.js"
    assert manifest.requirements == ("@types/node@20.0.0", "zod@3.23.8")
    assert manifest.limits.memory_mb == 128 and manifest.retry.max_attempts == 2
    assert manifest.secrets == ("API_TOKEN",)
    assert manifest.examples[0].output == {"text": "a"}
    assert manifest.title == "Echo"


def test_the_bundle_holds_modules_and_json_only(tmp_path: Path) -> None:
    directory = write(
        tmp_path / "s",
        step_json(),
        **{
            "lib/util.js": b"export const x = 1;\n",
            "lib/old.cjs": b"module.exports = 1;\n",
            "data/table.json": b"[1, 2]\n",
            "README.md": b"# readme\n",
            "step.py": b"raise SystemExit('never imported')\n",
            "notes.txt": b"x",
            ".env": b"SECRET=1",
            ".config/x.json": b"{}",
            "node_modules/dayjs/index.js": b"module.exports = 1;\n",
            "step.test.mjs": b"import test from 'node:test';\n",
            "dist/old.tgz": b"x",
        },
    )
    bundle = build_directory(directory, write_manifest=False)
    assert sorted(bundle.files) == [
        "data/table.json",
        "lib/old.cjs",
        "lib/util.js",
        "step.json",
        "step.mjs",
        MANIFEST_FILE,
    ]


def test_building_runs_and_imports_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hostile = f"import {{ writeFileSync }} from 'node:fs'; writeFileSync({str(marker)!r}, 'x');\n"
    python = f"open({str(marker)!r}, 'w').write('imported')\n"
    directory = write(
        tmp_path / "s",
        step_json(),
        **{
            "step.mjs": hostile.encode() + b"this is not even JavaScript (",
            "step.py": python.encode(),
        },
    )
    bundle = build_directory(directory, write_manifest=False)
    assert bundle.manifest.runtime == NODE
    assert not marker.exists()


def test_the_bundle_is_deterministic_and_rebuilds_to_the_same_bytes(tmp_path: Path) -> None:
    directory = write(tmp_path / "s", step_json(), **{"lib/a.js": b"export const a = 1;\n"})
    first = build_directory(directory)  # writes stepwell.json beside the code
    os.utime(directory / "step.mjs", (0, 10**9))
    second = build_directory(directory)
    assert first.data == second.data
    with tarfile.open(fileobj=io.BytesIO(first.data)) as tar:
        members = tar.getmembers()
    assert all(m.isfile() and m.mtime == 0 and m.uid == 0 for m in members)
    assert read_bundle(first.data).manifest == first.manifest
    written = json.loads((directory / MANIFEST_FILE).read_text())
    assert written["runtime"] == NODE and written["entrypoint"] == "step.mjs"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (step_json(version="1.0"), "/version: '1.0' is not a semantic version"),
        (step_json(version=1), "/version: Input should be a valid string (found 1)"),
        (step_json(dependencies={"dayjs": "^1.11.13"}), "/dependencies/dayjs: '^1.11.13' is a"),
        (step_json(dependencies={"Dayjs": "1.0.0"}), "/dependencies/Dayjs: package name must"),
        (step_json(dependencies=["dayjs"]), "/dependencies: dependencies is an object"),
        (step_json(requirements=["dayjs@1.0.0"]), "/requirements: unknown field"),
        (step_json(runtime="python3.11"), "/runtime: a step.json step runs on 'node20'"),
        (step_json(entrypoint="step:run"), "/entrypoint: 'step:run' is not a relative path"),
        (step_json(limits={"timeout_s": 901}), "/limits/timeout_s: Input should be less than"),
        (step_json(limits={"timeout": 9}), "/limits/timeout: Extra inputs are not permitted"),
        (step_json(secrets=["not-a-name"]), "/secrets: 'not-a-name' is not a secret name"),
        (step_json(egress=["https://api.x.com"]), "/egress/0: a URL or scheme is not a host"),
        (step_json(input_schema={"type": "nope"}), "/input_schema: schema is not a valid"),
        (step_json(examples=[{"input": {}}]), "/examples/0/output: Field required"),
        (step_json(titel="typo"), "/titel: unknown field 'titel'; known fields: name,"),
    ],
)
def test_each_bad_field_is_named_by_its_pointer_in_step_json(
    tmp_path: Path, document: dict[str, Any], expected: str
) -> None:
    message = refusal(write(tmp_path / "s", document))
    assert message.startswith("step.json: ")
    assert expected in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    document = step_json(version="x", dependencies={"a": "latest"}, extra=1)
    message = refusal(write(tmp_path / "s", document))
    assert "/dependencies/a:" in message and "/extra:" in message and "/version:" in message


def test_json_that_does_not_parse_is_refused_with_line_and_column(tmp_path: Path) -> None:
    message = refusal(write(tmp_path / "s", '{\n  "name": "text.echo",\n  "version": "1.0.0",\n}'))
    assert message.startswith("step.json: not valid JSON at line 4, column 1:")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"name": "a.b", "name": "c.d"}', "the key 'name' appears twice"),
        ('{"name": "a.b", "limits": {"timeout_s": NaN}}', "NaN is not JSON"),
        ("[]", "it must be a JSON object, not list"),
        ('{"name": "a.b", "title": "\\ud83d"}', "/title: "),
    ],
)
def test_json_that_is_not_a_clean_object_is_refused(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert expected in refusal(write(tmp_path / "s", text))


def test_step_json_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(StepJsonError, match="not UTF-8"):
        load_step_json(b'{"name": "caf\xe9"}')


def test_an_entrypoint_missing_from_the_directory_is_refused(tmp_path: Path) -> None:
    directory = write(tmp_path / "s", step_json(entrypoint="main.mjs"))
    assert "/entrypoint: 'main.mjs' is not a module of the step directory" in refusal(directory)


def test_an_entrypoint_the_bundle_would_leave_out_is_refused(tmp_path: Path) -> None:
    directory = write(
        tmp_path / "s",
        step_json(entrypoint="node_modules/x/index.js"),
        **{"node_modules/x/index.js": MODULE},
    )
    assert "/entrypoint: 'node_modules/x/index.js' is not a module" in refusal(directory)


def test_links_in_a_javascript_step_are_refused(tmp_path: Path) -> None:
    directory = write(tmp_path / "s", step_json())
    (directory / "secrets.json").symlink_to("/etc/passwd")
    assert "links are not allowed" in refusal(directory)


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"limits": {"timeout_s": True}}, "/limits/timeout_s"),  # lax: a 1 s timeout
        ({"limits": {"memory_mb": "512"}}, "/limits/memory_mb"),
        ({"limits": {"cpus": "2"}}, "/limits/cpus"),
        ({"limits": {"output_kb": 64.0}}, "/limits/output_kb"),
        ({"retry": {"max_attempts": "3"}}, "/retry/max_attempts"),
        ({"retry": {"backoff": False}}, "/retry/backoff"),
        ({"title": 5}, "/title"),
        ({"secrets": "TOKEN"}, "/secrets"),
    ],
)
def test_a_value_of_the_wrong_json_type_is_refused_not_converted(
    tmp_path: Path, fields: dict[str, Any], pointer: str
) -> None:
    """step.json is JSON: `true` is not a number and "512" is not an integer, as JSON Schema
    says, instead of quietly becoming a 1 s timeout or 512 MB."""
    message = refusal(write(tmp_path, step_json(**fields)))
    assert pointer in message, message


def test_whole_numbers_fill_number_fields(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, step_json(limits={"timeout_s": 5, "cpus": 1})))
    assert manifest.limits.timeout_s == 5.0 and manifest.limits.cpus == 1.0


def test_build_refuses_what_a_push_would_refuse(tmp_path: Path) -> None:
    """A step directory over the bundle caps (here more files than a bundle may hold) fails at
    build with the API's own reason, instead of building and being refused at push or run."""
    files = {f"lib/m{index}.mjs": b"export default 1;\n" for index in range(MAX_ENTRIES + 1)}
    message = refusal(write(tmp_path, step_json(), **files))
    assert f"more than {MAX_ENTRIES} entries" in message, message
