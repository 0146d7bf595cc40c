"""The JavaScript runner unpacks the envelope's bundle itself, and trusts none of it.

The host checks every bundle at build and push; these bundles are crafted past those checks and
handed to the sandbox as they are, so the runner's own checks are what is attacked.
"""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from sandbox.envelope import Envelope, StepContext
from sandbox.errors import ErrorType
from sandbox.launcher import Sandbox
from step_sdk.bundle import Bundle, manifest_json
from tests.sandbox.js_fixtures import make_js_bundle

STEP = b"""
import fs from "node:fs";
export default async () => ({ escaped: fs.existsSync("/opt/stepwell/escaped.mjs") });
"""


def _crafted(extra: tarfile.TarInfo, content: bytes = b"") -> Bundle:
    genuine = make_js_bundle("export default async () => 1;\n")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("stepwell.json", manifest_json(genuine.manifest)), ("step.mjs", STEP)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        extra.size = len(content) if extra.isfile() else 0
        tar.addfile(extra, io.BytesIO(content) if extra.isfile() else None)
    return Bundle(manifest=genuine.manifest, files={}, data=gzip.compress(raw.getvalue()))


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (tarfile.TarInfo("../escaped.mjs"), "empty or parent ('..') path"),
        (tarfile.TarInfo("a/../../escaped.mjs"), "empty or parent ('..') path"),
        (tarfile.TarInfo("/opt/stepwell/escaped.mjs"), "bad path"),
        (_link("lib.mjs", "/etc/passwd"), "not a regular file"),
        (_link("hard.mjs", "/opt/stepwell/runner.mjs", tarfile.LNKTYPE), "not a regular file"),
        (tarfile.TarInfo("step.mjs"), "the bundle cannot be unpacked: EEXIST"),
    ],
    ids=["parent", "nested-parent", "absolute", "symlink", "hardlink", "duplicate"],
)
def test_a_crafted_bundle_is_refused_naming_the_entry(
    sandbox: Sandbox, node_image: str, run_id: str, entry: tarfile.TarInfo, problem: str
) -> None:
    bundle = _crafted(entry, b"export default async () => 'evil';\n")
    result = sandbox.run(bundle, Envelope(input={}, context=StepContext(run_id=run_id)))
    assert result.error is not None, result.output
    assert result.error.type is ErrorType.STEP
    assert problem in result.error.message


def test_long_paths_in_pax_headers_unpack_and_import(
    sandbox: Sandbox, node_image: str, run_id: str
) -> None:
    deep = "/".join(["nested-directory"] * 8) + "/helper.mjs"  # over tar's 100 characters
    bundle = make_js_bundle(
        f'import {{ value }} from "./{deep}";\nexport default async () => value;\n',
        files={deep: "export const value = 'from deep';\n"},
    )
    result = sandbox.run(bundle, Envelope(input={}, context=StepContext(run_id=run_id)))
    assert result.error is None, (result.error, result.logs)
    assert result.output == "from deep"
