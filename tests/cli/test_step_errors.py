"""Every mistake a step author can make gets one clear message and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import Invoke, WriteStep

GOOD = """
from step_sdk import step

@step(name="text.shout", version="1.0.0")
def shout(text: str, times: int = 1) -> str:
    return text.upper() * times
"""


def test_unknown_directory(cli: Invoke, tmp_path: Path) -> None:
    result = cli("step", "run", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "no such directory or bundle file" in result.output


def test_directory_without_a_step(cli: Invoke, write_step: WriteStep) -> None:
    directory = write_step("def plain(text: str) -> str:\n    return text\n")
    result = cli("step", "build", str(directory))
    assert result.exit_code == 2
    assert "no @step function found" in result.output


def test_two_steps_with_one_name(cli: Invoke, write_step: WriteStep) -> None:
    directory = write_step(
        """
        from step_sdk import step

        @step(name="dup.name")
        def first(text: str) -> str:
            return text

        @step(name="dup.name")
        def second(text: str) -> str:
            return text
        """
    )
    result = cli("step", "build", str(directory))
    assert result.exit_code == 2
    assert "two @steps are named 'dup.name'" in result.output


def test_bad_version_string(cli: Invoke, write_step: WriteStep) -> None:
    directory = write_step(GOOD.replace('version="1.0.0"', 'version="v1"'))
    result = cli("step", "schema", str(directory))
    assert result.exit_code == 2
    assert "/version" in result.output and "'v1' is not a semantic version" in result.output


def test_invalid_requirement(cli: Invoke, write_step: WriteStep) -> None:
    directory = write_step(
        GOOD.replace('version="1.0.0"', 'version="1.0.0", requirements=["requests>=2"]')
    )
    result = cli("step", "build", str(directory))
    assert result.exit_code == 2
    assert "/requirements" in result.output and "not pinned" in result.output


def test_unjsonable_parameter_names_it(cli: Invoke, write_step: WriteStep) -> None:
    directory = write_step(
        "from step_sdk import step\n\n@step\ndef f(blob: bytes) -> str:\n    return ''\n"
    )
    result = cli("step", "schema", str(directory))
    assert result.exit_code == 2
    assert "parameter 'blob'" in result.output


def test_code_that_fails_to_import(cli: Invoke, write_step: WriteStep) -> None:
    directory = write_step("import no_such_module_anywhere\n")
    result = cli("step", "build", str(directory))
    assert result.exit_code == 2
    assert "ModuleNotFoundError" in result.output


def test_input_that_is_not_json(cli: Invoke, write_step: WriteStep) -> None:
    result = cli("step", "run", str(write_step(GOOD)), "--input", "{text: hi}")
    assert result.exit_code == 2
    assert "--input is not JSON" in result.output


def test_input_file_that_does_not_exist(cli: Invoke, write_step: WriteStep) -> None:
    result = cli("step", "run", str(write_step(GOOD)), "--input", "@/no/such/file.json")
    assert result.exit_code == 2
    assert "cannot read /no/such/file.json" in result.output


def test_input_that_breaks_the_schema_names_the_pointer(cli: Invoke, write_step: WriteStep) -> None:
    result = cli("step", "run", str(write_step(GOOD)), "--input", '{"text": 3, "times": "x"}')
    assert result.exit_code == 1
    assert "/text: 3 is not of type 'string'" in result.output
    assert "/times: 'x' is not of type 'integer'" in result.output


def test_bad_secret_option(cli: Invoke, write_step: WriteStep) -> None:
    result = cli("step", "run", str(write_step(GOOD)), "--secret", "NOVALUE")
    assert result.exit_code == 2
    assert "NAME=VALUE" in result.output


def test_new_refuses_a_bad_name_and_a_non_empty_directory(cli: Invoke, tmp_path: Path) -> None:
    assert cli("step", "new", "Bad Name", str(tmp_path / "x")).exit_code == 2
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    result = cli("step", "new", "ok.name", str(tmp_path / "taken"))
    assert result.exit_code == 2
    assert "not empty" in result.output


def test_corrupt_bundle_file(cli: Invoke, tmp_path: Path) -> None:
    bundle = tmp_path / "broken.tgz"
    bundle.write_bytes(b"not a tarball")
    result = cli("step", "run", str(bundle))
    assert result.exit_code == 2
    assert "not a gzip'd tar" in result.output


def test_every_command_has_help(cli: Invoke) -> None:
    for command in (
        [],
        ["step"],
        ["step", "new"],
        ["step", "build"],
        ["step", "run"],
        ["step", "test"],
        ["step", "schema"],
        ["images", "build"],
        ["images", "list"],
        ["sandbox", "gc"],
    ):
        result = cli(*command, "--help")
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_step_sdk_imports_without_platform_dependencies() -> None:
    blocked = ["docker", "temporalio", "fastapi", "sqlmodel", "sqlalchemy", "typer"]
    code = (
        "import sys\n"
        + "".join(f"sys.modules[{name!r}] = None\n" for name in blocked)
        + "import step_sdk, step_sdk.testing, step_sdk.project, step_sdk.runner\n"
        + "from step_sdk import step, StepContext\n"
        + "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr
