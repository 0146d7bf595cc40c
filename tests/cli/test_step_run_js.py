"""`stepwell step run` and `stepwell step test` on JavaScript steps, in the real sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from sandbox.config import SandboxConfig
from sandbox.node_image import NodeImageBuilder
from tests.cli.conftest import Invoke

pytestmark = pytest.mark.docker

RESULT_KEYS = {"status", "output", "error", "logs", "duration_ms", "connections", "artifacts"}


@pytest.fixture(autouse=True)
def _engine(
    base_image: str, docker_client: docker.DockerClient, sandbox_config: SandboxConfig
) -> None:
    """Both runtime images exist (and the engine answers) before the CLI runs a step."""
    NodeImageBuilder(docker_client, sandbox_config, log=lambda _m: None).ensure()


@pytest.fixture
def js_step(cli: Invoke, tmp_path: Path) -> Path:
    directory = tmp_path / "shout-js"
    assert cli("step", "new", "text.shout", str(directory), "--lang", "js").exit_code == 0
    return directory


def rewrite(directory: Path, module: str, **fields: object) -> None:
    """Replace the scaffold's step.mjs and change fields of its step.json."""
    (directory / "step.mjs").write_text(module)
    document = json.loads((directory / "step.json").read_text())
    document.update(fields)
    (directory / "step.json").write_text(json.dumps(document))


def test_the_scaffold_runs_and_answers_the_same_json_object_as_python(
    cli: Invoke, js_step: Path, tmp_path: Path
) -> None:
    result = cli("step", "run", str(js_step), "--input", '{"text": "héllo"}', "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert set(document) == RESULT_KEYS
    assert document["status"] == "succeeded" and document["error"] is None
    assert document["output"] == {"text": "HÉLLO", "length": 5}
    assert "processing 5 characters" in document["logs"]
    assert document["connections"] == []

    python = tmp_path / "shout-py"
    assert cli("step", "new", "text.shout", str(python)).exit_code == 0
    answer = json.loads(cli("step", "run", str(python), "-i", '{"text": "héllo"}', "--json").output)
    assert set(answer) == set(document) and answer["output"] == document["output"]


def test_the_scaffold_passes_its_examples(cli: Invoke, js_step: Path) -> None:
    result = cli("step", "test", str(js_step))
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed" in result.output


def test_a_throwing_step_is_a_step_error_with_its_stack(cli: Invoke, js_step: Path) -> None:
    rewrite(
        js_step,
        "export default async function shout(input, ctx) {\n"
        "  ctx.log.warn('about to fail');\n"
        "  throw new TypeError(`cannot shout ${input.text}`);\n"
        "}\n",
    )
    result = cli("step", "run", str(js_step), "-i", '{"text": "hi"}', "--json")
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert set(document) == RESULT_KEYS
    assert document["status"] == "failed" and document["output"] is None
    assert document["error"]["type"] == "StepError"
    assert "cannot shout hi" in document["error"]["message"]
    assert "step.mjs" in document["error"]["traceback"]
    assert "about to fail" in document["logs"]


def test_input_that_breaks_the_schema_is_refused_before_the_sandbox(
    cli: Invoke, js_step: Path
) -> None:
    result = cli("step", "run", str(js_step), "-i", '{"text": 5}', "--json")
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["error"]["type"] == "InputValidationError"
    assert "/text" in document["error"]["message"]


def test_an_example_that_does_not_match_shows_a_diff(cli: Invoke, js_step: Path) -> None:
    rewrite(
        js_step,
        "export default async (input) => ({ text: input.text.toLowerCase(), length: 1 });\n",
    )
    result = cli("step", "test", str(js_step))
    assert result.exit_code == 1
    assert "0 passed, 1 failed" in result.output
    assert '-  "text": "HELLO WORLD"' in result.output
    assert '+  "text": "hello world"' in result.output


def test_declared_secrets_reach_ctx_secrets(cli: Invoke, js_step: Path) -> None:
    rewrite(
        js_step,
        "export default async (input, ctx) => ({ text: String(Object.keys(ctx.secrets)),"
        " length: ctx.secrets.API_TOKEN.length });\n",
        secrets=["API_TOKEN"],
        output_schema={},
    )
    result = cli(
        "step", "run", str(js_step), "-i", '{"text": "x"}', "--secret", "API_TOKEN=s3cr3t-value",
        "--secret", "OTHER=not-declared", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["output"] == {"text": "API_TOKEN", "length": 12}


def test_an_output_that_breaks_the_output_schema_fails_run_and_test_as_in_a_flow(
    cli: Invoke, js_step: Path
) -> None:
    """`step run` and `step test` check the output on the host against output_schema, as a
    flow's activity does: a step that passes locally does not fail in a flow."""
    rewrite(
        js_step,
        "export default async () => ({ text: 5, length: 1 });\n",
        examples=[{"input": {"text": "a"}, "output": {"text": 5, "length": 1}}],
    )
    document = json.loads(cli("step", "run", str(js_step), "-i", '{"text": "a"}', "--json").output)
    assert document["status"] == "failed" and document["output"] is None
    assert document["error"]["type"] == "OutputValidationError"
    assert "/text" in document["error"]["message"]
    tested = cli("step", "test", str(js_step))
    assert tested.exit_code == 1
    assert "0 passed, 1 failed" in tested.output
    assert "OutputValidationError" in tested.output
