"""``stepwell step new --lang browser``: a browser step that builds, and runs for real in the
sandbox from the CLI (Debian's Chromium in the browser image)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from step_sdk.bundle import read_bundle
from tests.cli.conftest import Invoke


@pytest.fixture
def scaffolded(cli: Invoke, tmp_path: Path) -> Path:
    directory = tmp_path / "shot"
    result = cli("step", "new", "web.shot", str(directory), "--lang", "browser")
    assert result.exit_code == 0, result.output
    return directory


def test_new_browser_scaffolds_a_browser_step_that_builds(
    cli: Invoke, scaffolded: Path, tmp_path: Path
) -> None:
    assert sorted(p.name for p in scaffolded.iterdir()) == ["README.md", "step.py"]
    built = cli("step", "build", str(scaffolded), "-o", str(tmp_path / "shot.tgz"))
    assert built.exit_code == 0, built.output
    manifest = read_bundle((tmp_path / "shot.tgz").read_bytes()).manifest
    assert manifest.runtime == "python3.11-browser"
    assert manifest.limits.memory_mb == 1024
    assert manifest.egress == ()


@pytest.mark.docker
def test_the_scaffolded_browser_step_runs_in_the_sandbox(cli: Invoke, scaffolded: Path) -> None:
    html = json.dumps({"html": "<title>From the CLI</title><h1>hi</h1>"})
    result = cli("step", "run", str(scaffolded), "--input", html, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["output"]["title"] == "From the CLI"
    assert document["output"]["screenshot_bytes"] > 1000
