"""`stepwell step run` writes the files a step saved into a local folder and says where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke, WriteStep

pytestmark = pytest.mark.docker

SAVES = """
    import os
    from step_sdk import StepContext, step

    @step
    def main(ctx: StepContext) -> int:
        ctx.artifacts.save("shot.png", b"\\x89PNG fake", "image/png")
        with open(os.path.join(os.environ["STEPWELL_ARTIFACTS_DIR"], "rows.csv"), "w") as out:
            out.write("a,b\\n1,2\\n")
        return 2
    """


@pytest.fixture(autouse=True)
def _engine(base_image: str) -> None:
    """The base image must exist before the CLI runs a step."""


def test_artifacts_land_in_the_folder_given(
    cli: Invoke, write_step: WriteStep, tmp_path: Path
) -> None:
    directory = write_step(SAVES)
    folder = tmp_path / "out"
    result = cli("step", "run", str(directory), "--artifacts", str(folder), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    listed = {a["name"]: a for a in document["artifacts"]}
    assert set(listed) == {"shot.png", "rows.csv"}
    assert listed["rows.csv"]["content_type"] == "text/csv"
    assert (folder / "shot.png").read_bytes() == b"\x89PNG fake"
    assert (folder / "rows.csv").read_text() == "a,b\n1,2\n"
    shown = cli("step", "run", str(directory), "--artifacts", str(folder))
    assert f"artifacts in {folder.resolve()}" in shown.output


def test_a_link_in_the_folder_is_never_written_through(
    cli: Invoke, write_step: WriteStep, tmp_path: Path
) -> None:
    directory = write_step(SAVES)
    folder = tmp_path / "out"
    folder.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched")
    (folder / "rows.csv").symlink_to(outside)
    result = cli("step", "run", str(directory), "--artifacts", str(folder))
    assert result.exit_code == 1
    assert "--artifacts" in result.output
    assert outside.read_text() == "untouched"
