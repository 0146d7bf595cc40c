"""A pushed bundle's Python is checked by parsing it (never importing it): syntax errors and an
entrypoint function its module does not define are refused at push, naming file and line."""

from __future__ import annotations

import json

import httpx
import pytest

from step_sdk.bundle import build_bundle
from step_sdk.manifest import Manifest
from tests.api.helpers import WorkspaceKey, assert_error
from tests.api.step_bundles import manifest_doc, push, regular, tgz
from ui_api.steps.bundle_source import MAX_SOURCE_FILE_BYTES, source_problems

GOOD = b"def echo(text: str) -> dict:\n    return {'text': text}\n"


def bundle(files: dict[str, bytes], entrypoint: str = "step:echo") -> bytes:
    manifest = Manifest.model_validate(manifest_doc(entrypoint=entrypoint))
    return build_bundle(manifest, files).data


@pytest.mark.parametrize(
    ("files", "entrypoint", "pointer", "fragments"),
    [
        ({"step.py": b"def echo(text:\n    return 1\n"}, "step:echo", "/bundle/step.py",
         ["step.py, line 1", "syntax error"]),
        ({"step.py": GOOD, "helpers/util.py": b"x = 1\nif x\n    pass\n"}, "step:echo",
         "/bundle/helpers~1util.py", ["helpers/util.py, line 2"]),
        ({"step.py": b"import os\n\ttab = 1\n"}, "step:echo", "/bundle/step.py", ["line 2"]),
        ({"step.py": b"x = 1\x00\n"}, "step:echo", "/bundle/step.py", ["step.py"]),
        ({"step.py": GOOD}, "step:ecoh", "/manifest/entrypoint",
         ["'step:ecoh'", "step.py defines no 'ecoh'", "echo"]),
        ({"step.py": b"class Echo:\n    def echo(self): ...\n"}, "step:echo",
         "/manifest/entrypoint", ["defines no 'echo'"]),
        ({"step.py": b"def outer():\n    def echo(): ...\n"}, "step:echo",
         "/manifest/entrypoint", ["defines no 'echo' at module level"]),
        ({"pkg/__init__.py": b"", "pkg/mod.py": b"def other(): ...\n"}, "pkg.mod:echo",
         "/manifest/entrypoint", ["pkg/mod.py defines no 'echo'"]),
        ({"step.py": b"x = '" + b"a" * MAX_SOURCE_FILE_BYTES + b"'\n"}, "step:echo",
         "/bundle/step.py", ["at most"]),
    ],
)  # fmt: skip
async def test_python_that_cannot_run_is_refused_at_push(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    files: dict[str, bytes],
    entrypoint: str,
    pointer: str,
    fragments: list[str],
) -> None:
    error = assert_error(await push(client, workspace, bundle(files, entrypoint)), 422, "invalid")
    details = [d for d in error["details"] if d["pointer"] == pointer]
    assert details, error
    for fragment in fragments:
        assert fragment in details[0]["message"] and fragment in error["message"], error
    listed = await client.get("/v1/steps", headers=workspace.headers)
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    "source",
    [
        GOOD,
        b"from step_sdk import step\n\n@step(name='test.echo', version='1.0.0')\n"
        b"async def echo(text: str) -> dict:\n    return {}\n",
        b"def _impl(text): ...\necho = _impl\n",
        b"try:\n    from fast import echo\nexcept ImportError:\n    def echo(text): ...\n",
        b"from helpers import *\n",
        b"# -*- coding: latin-1 -*-\nname = '\xe9'\ndef echo(text): ...\n",
    ],
)
async def test_entrypoints_bound_at_module_level_in_any_form_are_accepted(
    client: httpx.AsyncClient, workspace: WorkspaceKey, source: bytes
) -> None:
    answer = await push(client, workspace, bundle({"step.py": source, "helpers.py": b""}))
    assert answer.status_code == 201, answer.text


def test_the_source_is_parsed_never_run(tmp_path_factory: pytest.TempPathFactory) -> None:
    marker = tmp_path_factory.mktemp("ran") / "ran"
    source = f"open({str(marker)!r}, 'w').write('x')\ndef echo(text): ...\n".encode()
    assert source_problems("step:echo", {"step.py": source}) == []
    assert not marker.exists()


async def test_a_hand_made_bundle_with_nan_in_its_manifest_is_refused(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "number", "maximum": 10}}}
    raw = json.dumps(manifest_doc(input_schema=schema)).encode()
    raw = raw.replace(b'"maximum": 10', b'"maximum": Infinity')
    data = tgz(regular("stepwell.json", raw), regular("step.py", GOOD))
    error = assert_error(await push(client, workspace, data), 422, "invalid")
    pointers = [d["pointer"] for d in error["details"]]
    assert pointers == ["/manifest/input_schema/properties/n/maximum"], error
