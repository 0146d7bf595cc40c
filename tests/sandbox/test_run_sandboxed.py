"""``sandbox.testing.run_sandboxed``: a step directory run exactly as production runs it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sandbox.testing import run_sandboxed

pytestmark = pytest.mark.docker
SLUGIFY = Path(__file__).resolve().parents[2] / "examples" / "steps" / "slugify"


def test_a_step_directory_runs_in_a_fresh_container(tmp_path: Path, base_image: str) -> None:
    directory = shutil.copytree(SLUGIFY, tmp_path / "slugify")  # building writes beside the code
    result = run_sandboxed(directory, {"text": "Hello, World"})
    assert result.error is None, result.error
    assert result.output["slug"] == "hello-world"
    assert result.exit_code is None  # it ended at its result (sandbox/execution.py)
