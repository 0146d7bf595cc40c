"""Helpers for driving the real ``stepwell`` CLI in-process."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from stepwell.cli.main import app

Invoke = Callable[..., Result]
WriteStep = Callable[[str], Path]


@pytest.fixture
def cli() -> Invoke:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        result = runner.invoke(app, list(args))
        # Whatever the user did wrong, the CLI itself never crashes with a Python traceback.
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        return result

    return invoke


@pytest.fixture
def write_step(tmp_path: Path) -> WriteStep:
    """Write ``step.py`` with the given source into a fresh directory and return the directory."""
    counter = iter(range(1000))

    def write(source: str) -> Path:
        directory = tmp_path / f"step{next(counter)}"
        directory.mkdir()
        (directory / "step.py").write_text(textwrap.dedent(source))
        return directory

    return write
