"""Pushing JavaScript (node20) steps: accepted as data, checked in npm's grammar, shown with
their runtime in the catalogue and version detail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from step_sdk.project import build_directory
from stepwell.cli import scaffold
from tests.api.helpers import WorkspaceKey, assert_error
from tests.api.step_bundles import bundle_bytes, push, regular, tgz

MODULE = b"export default async (input, ctx) => ({ text: input.text });\n"


def js_manifest(**fields: Any) -> dict[str, Any]:
    """A node20 manifest document as `stepwell step build` writes it, ``fields`` changed."""
    document: dict[str, Any] = {
        "name": "js.echo",
        "version": "1.0.0",
        "runtime": "node20",
        "entrypoint": "step.mjs",
        "requirements": ["dayjs@1.11.13"],
        "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
    }
    document.update(fields)
    return document


def js_bundle(manifest: dict[str, Any], **files: bytes) -> bytes:
    """A hand-made node20 bundle: the manifest, ``step.mjs`` and ``files`` (path -> content)."""
    contents = {"step.mjs": MODULE, **files}
    members = [regular(path, content) for path, content in contents.items()]
    return tgz(regular("stepwell.json", json.dumps(manifest).encode()), *members)


@pytest.fixture
def js_step(tmp_path: Path) -> Path:
    """The scaffold of `stepwell step new --lang js`, with npm dependencies."""
    directory = tmp_path / "js-shout"
    directory.mkdir()
    document = scaffold.js_step_json("js.shout", "Shout")
    document["dependencies"] = {"dayjs": "1.11.13", "@sindresorhus/slugify": "2.2.1"}
    (directory / "step.json").write_text(json.dumps(document))
    (directory / "step.mjs").write_text(scaffold.JS_STEP)
    (directory / "lib").mkdir()
    (directory / "lib" / "words.js").write_text("export const words = (t) => t.split(' ');\n")
    return directory


async def test_a_built_javascript_step_is_pushed_and_shown_with_its_runtime(
    client: httpx.AsyncClient, workspace: WorkspaceKey, js_step: Path
) -> None:
    bundle = build_directory(js_step, write_manifest=False)
    response = await push(client, workspace, bundle.data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["runtime"], body["entrypoint"]) == ("node20", "step.mjs")
    assert body["requirements"] == ["@sindresorhus/slugify@2.2.1", "dayjs@1.11.13"]
    assert body["examples"][0]["output"] == {"text": "HELLO WORLD", "length": 11}
    assert body["digest"] == bundle.digest

    headers = workspace.headers
    detail = (await client.get("/v1/steps/js.shout/versions/0.1.0", headers=headers)).json()
    assert detail["runtime"] == "node20" and detail["manifest"]["runtime"] == "node20"
    versions = (await client.get("/v1/steps/js.shout/versions", headers=headers)).json()
    assert [v["runtime"] for v in versions["items"]] == ["node20"]
    catalogue = (await client.get("/v1/steps?q=js.shout", headers=headers)).json()
    assert [(i["name"], i["runtime"]) for i in catalogue["items"]] == [("js.shout", "node20")]
    download = await client.get("/v1/steps/js.shout/versions/0.1.0/bundle", headers=headers)
    assert download.content == bundle.data


async def test_python_steps_are_shown_as_python(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    assert (await push(client, workspace, bundle_bytes(name="py.echo"))).status_code == 201
    catalogue = (await client.get("/v1/steps?q=py.echo", headers=workspace.headers)).json()
    assert [i["runtime"] for i in catalogue["items"]] == ["python3.11"]


async def test_javascript_is_neither_parsed_nor_run_by_the_api(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    """The API never parses or runs step code: a module that is not JavaScript is stored as
    it is and fails at its first run (a StepError from the runtime). Python files in a node20
    bundle are not Python-checked either."""
    data = js_bundle(
        js_manifest(),
        **{"step.mjs": b"export default ((( not javascript", "helper.py": b"def (:\n"},
    )
    response = await push(client, workspace, data)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("requirements", "pointer", "problem"),
    [
        (["dayjs@1.11.13", "left-pad@^1.3.0"], "/manifest/requirements/1", "version range"),
        (["dayjs@latest"], "/manifest/requirements/0", "dist-tag"),
        (["dayjs@github:iamkun/dayjs"], "/manifest/requirements/0", "git source"),
        (["dayjs@https://example.com/d.tgz"], "/manifest/requirements/0", "a URL"),
        (["dayjs@file:../dayjs"], "/manifest/requirements/0", "local file: spec"),
        (["dayjs@workspace:*"], "/manifest/requirements/0", "local workspace: spec"),
        (["d@npm:dayjs@1.0.0"], "/manifest/requirements/0", "package name can only contain"),
        (["Dayjs@1.0.0"], "/manifest/requirements/0", "lower case"),
        (["markdown==3.7"], "/manifest/requirements/0", "not of the form 'name@version'"),
    ],
)
async def test_a_node20_manifest_with_a_loose_requirement_is_refused_naming_it(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    requirements: list[str],
    pointer: str,
    problem: str,
) -> None:
    data = js_bundle(js_manifest(requirements=requirements))
    error = assert_error(await push(client, workspace, data), 422)
    assert [d["pointer"] for d in error["details"]] == [pointer]
    assert problem in error["details"][0]["message"]
    versions = await client.get("/v1/steps/js.echo/versions", headers=workspace.headers)
    assert versions.status_code == 404  # nothing half-written


async def test_a_python_manifest_keeps_python_pins(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    document = {
        "name": "py.npm",
        "version": "1.0.0",
        "entrypoint": "step:echo",
        "requirements": ["dayjs@1.11.13"],
    }
    bad = tgz(
        regular("stepwell.json", json.dumps(document).encode()),
        regular("step.py", b"def echo(text: str) -> dict:\n    return {}\n"),
    )
    error = assert_error(await push(client, workspace, bad), 422)
    assert [d["pointer"] for d in error["details"]] == ["/manifest/requirements/0"]
    assert "is not pinned" in error["details"][0]["message"]


@pytest.mark.parametrize(
    ("manifest", "pointer", "problem"),
    [
        (js_manifest(entrypoint="main.mjs"), "entrypoint", "'main.mjs': the module is not in"),
        (js_manifest(entrypoint="step:run"), "entrypoint", "not a relative path of a .mjs or"),
        (js_manifest(entrypoint="../step.mjs"), "entrypoint", "not a relative path of a .mjs"),
        (js_manifest(entrypoint="/opt/stepwell/runner.mjs"), "entrypoint", "not a relative"),
        (js_manifest(runtime="node18"), "runtime", "unsupported runtime 'node18'"),
    ],
)
async def test_a_node20_entrypoint_must_be_a_module_of_the_bundle(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    manifest: dict[str, Any],
    pointer: str,
    problem: str,
) -> None:
    error = assert_error(await push(client, workspace, js_bundle(manifest)), 422)
    assert [d["pointer"] for d in error["details"]] == [f"/manifest/{pointer}"]
    assert problem in error["details"][0]["message"]


@pytest.mark.parametrize(
    "path",
    ["node_modules/dayjs/index.js", "lib/node_modules/x/package.json", "a/b/node_modules/c.mjs"],
)
async def test_a_node20_bundle_with_node_modules_is_refused(
    client: httpx.AsyncClient, workspace: WorkspaceKey, path: str
) -> None:
    """Packages come only from declared requirements (a layer): a hand-made bundle carrying
    node_modules would run with packages the catalogue never lists."""
    data = js_bundle(js_manifest(requirements=[]), **{path: b"export default 1;\n"})
    error = assert_error(await push(client, workspace, data), 422)
    assert "node_modules" in error["message"], error
    listed = await client.get("/v1/steps", headers=workspace.headers)
    assert listed.json()["items"] == []
