"""``stepwell step build/push/schema`` refuse malformed egress entries with the entry's JSON
pointer, before anything is written or sent; ``step new`` shows where egress goes."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from step_sdk.bundle import build_bundle
from step_sdk.manifest import Manifest
from stepwell.api_client import API_KEY_ENV, API_URL_ENV
from tests.cli.conftest import Invoke, WriteStep
from tests.egress_entries import MALFORMED

STEP = """
from step_sdk import step

@step(name="net.call", version="1.0.0", egress=["api.github.com", {entry!r}])
def call(text: str) -> str:
    return text
"""
OFFLINE = ("--api", "http://127.0.0.1:9", "--key", "sw_x")
CASES = pytest.mark.parametrize(("entry", "words"), MALFORMED, ids=[repr(e) for e, _ in MALFORMED])


@pytest.fixture
def no_api_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_URL_ENV, raising=False)
    monkeypatch.delenv(API_KEY_ENV, raising=False)


@CASES
def test_build_refuses_a_malformed_entry_with_its_pointer(
    cli: Invoke, write_step: WriteStep, entry: object, words: str
) -> None:
    directory = write_step(STEP.format(entry=entry))
    result = cli("step", "build", str(directory))
    assert result.exit_code == 2, result.output
    assert "/egress/1: " in result.output and words in result.output
    assert not (directory / "dist").exists() and not (directory / "stepwell.json").exists()


@CASES
@pytest.mark.usefixtures("no_api_env")
def test_push_refuses_a_malformed_entry_before_any_request(
    cli: Invoke, write_step: WriteStep, entry: object, words: str
) -> None:
    result = cli("step", "push", str(write_step(STEP.format(entry=entry))), *OFFLINE)
    assert result.exit_code == 2, result.output  # a usage error: nothing was sent
    assert "/egress/1: " in result.output and words in result.output


@pytest.mark.parametrize(("entry", "words"), MALFORMED[:4])
def test_a_hand_edited_bundle_names_the_pointer(
    cli: Invoke, tmp_path: Path, entry: object, words: str
) -> None:
    manifest = Manifest(
        name="net.call", version="1.0.0", entrypoint="step:call",
        input_schema={"type": "object"}, output_schema={},
    )  # fmt: skip
    bundle = build_bundle(manifest, {"step.py": b"def call():\n    return 1\n"})
    # Rewrite the manifest inside the bundle the way a hand edit would.
    document = json.loads(bundle.files["stepwell.json"])
    document["egress"] = ["api.github.com", entry]
    files = {**bundle.files, "stepwell.json": json.dumps(document).encode()}
    path = tmp_path / "edited.tgz"
    path.write_bytes(_tgz(files))
    result = cli("step", "schema", str(path))
    assert result.exit_code == 2, result.output
    assert "/egress/1: " in result.output and words in result.output
    assert "Value error" not in result.output


def _tgz(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return raw.getvalue()


def test_new_shows_a_commented_egress_example(cli: Invoke, tmp_path: Path) -> None:
    directory = tmp_path / "fresh"
    assert cli("step", "new", "net.fresh", str(directory)).exit_code == 0
    source = (directory / "step.py").read_text()
    assert '    # egress=["api.example.com"],' in source
    assert "no network at all" in source
