"""Scaffolding, schemas and deterministic bundles, without running anything."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from step_sdk.bundle import read_bundle
from tests.cli.conftest import Invoke


@pytest.fixture
def scaffolded(cli: Invoke, tmp_path: Path) -> Path:
    directory = tmp_path / "shout"
    result = cli("step", "new", "text.shout", str(directory))
    assert result.exit_code == 0, result.output
    return directory


def test_new_scaffolds_a_module_a_test_and_a_readme(scaffolded: Path) -> None:
    assert sorted(p.name for p in scaffolded.iterdir()) == ["README.md", "step.py", "test_step.py"]


def test_schema_prints_input_and_output(cli: Invoke, scaffolded: Path) -> None:
    result = cli("step", "schema", str(scaffolded))
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["input"]["required"] == ["text"]
    assert document["output"]["type"] == "object"


def test_build_is_deterministic_and_safe(cli: Invoke, scaffolded: Path, tmp_path: Path) -> None:
    first = cli("step", "build", str(scaffolded), "-o", str(tmp_path / "a.tgz"))
    assert first.exit_code == 0, first.output
    os.utime(scaffolded / "step.py", (0, 10**9))  # a new mtime must not change the digest
    second = cli("step", "build", str(scaffolded), "-o", str(tmp_path / "b.tgz"))
    digest = first.output.strip().splitlines()[-1]
    assert digest.startswith("sha256:")
    assert digest == second.output.strip().splitlines()[-1]
    assert (tmp_path / "a.tgz").read_bytes() == (tmp_path / "b.tgz").read_bytes()
    with tarfile.open(tmp_path / "a.tgz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert "test_step.py" not in names and "stepwell.json" in names
    assert all(m.isfile() and m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members)
    bundle = read_bundle((tmp_path / "a.tgz").read_bytes())
    assert bundle.manifest.entrypoint == "step:shout"
    assert (scaffolded / "stepwell.json").exists()


def test_build_refuses_links(cli: Invoke, scaffolded: Path) -> None:
    (scaffolded / "passwd").symlink_to("/etc/passwd")
    result = cli("step", "build", str(scaffolded))
    assert result.exit_code == 2
    assert "links are not allowed" in result.output
