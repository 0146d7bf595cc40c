"""``stepwell step``: write, inspect, test, run and build a step."""

from __future__ import annotations

import difflib
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from step_sdk.bundle import Bundle, read_bundle
from step_sdk.manifest import STEP_NAME
from step_sdk.project import build_directory, load_manifest
from step_sdk.validation import schema_problems
from stepwell.api_client import (
    API_KEY_ENV,
    API_URL_ENV,
    DEFAULT_API_URL,
    ApiClient,
    ApiClientError,
    ApiUsageError,
)
from stepwell.cli import scaffold
from stepwell.cli.output import err, fail, out, parse_json_option, print_json, user_errors
from stepwell.cli.step_runner import LocalRunner, save_artifacts

app = typer.Typer(help="Write, test, run and build steps.", no_args_is_help=True)


def _load(source: Path) -> Bundle:
    with user_errors():
        if source.is_dir():
            return build_directory(source)
        if source.is_file():
            return read_bundle(source.read_bytes())
    fail(f"{source}: no such directory or bundle file")


class Language(StrEnum):
    python = "python"
    js = "js"
    browser = "browser"


@app.command()
def new(
    name: str = typer.Argument(..., help="Dotted lowercase step name, e.g. text.shout"),
    directory: Path | None = typer.Argument(None, help="Where to create it (default: NAME)"),
    lang: Language = typer.Option(
        Language.python,
        "--lang",
        help="python: step.py + a test; js: step.json + step.mjs; browser: a Python step "
        "driving headless Chromium (runtime python3.11-browser)",
    ),
) -> None:
    """Scaffold a step directory: the step's code, its manifest fields, a README."""
    if not STEP_NAME.match(name):
        fail(f"{name!r} is not a step name: use dotted lowercase words, e.g. 'text.shout'")
    target = directory or Path(name.replace(".", "-"))
    if target.exists() and any(target.iterdir()):
        fail(f"{target} exists and is not empty")
    function = re.sub(r"\W", "_", name.rsplit(".", 1)[-1])
    if function[0].isdigit():  # "csv.2json": a Python or JavaScript name cannot start so
        function = f"step_{function}"
    title = name.rsplit(".", 1)[-1].replace("_", " ").capitalize()
    values = {"name": name, "function": function, "title": title}
    target.mkdir(parents=True, exist_ok=True)
    if lang is Language.js:
        step_json = json.dumps(scaffold.js_step_json(name, title), indent=2) + "\n"
        (target / "step.json").write_text(step_json)
        (target / "step.mjs").write_text(
            scaffold.JS_STEP.replace("__TITLE__", title).replace("__FUNCTION__", function)
        )
        (target / "README.md").write_text(scaffold.JS_README.format(**values))
        created = "step.json, step.mjs, README.md"
    elif lang is Language.browser:
        (target / "step.py").write_text(scaffold.BROWSER_STEP.format(**values))
        (target / "README.md").write_text(scaffold.BROWSER_README.format(**values))
        out.print(f"created {target}/ (step.py, README.md)")
        out.print(f'next: stepwell step run {target} --input \'{{"html": "<title>hi</title>"}}\'')
        return
    else:
        (target / "step.py").write_text(scaffold.STEP.format(**values))
        (target / "test_step.py").write_text(scaffold.TEST.format(**values))
        (target / "README.md").write_text(scaffold.README.format(**values))
        created = "step.py, test_step.py, README.md"
    out.print(f"created {target}/ ({created})")
    out.print(f'next: stepwell step run {target} --input \'{{"text": "hi"}}\'')


@app.command()
def build(
    directory: Path = typer.Argument(..., help="The step directory"),
    output: Path | None = typer.Option(None, "-o", "--output", help="Bundle file to write"),
) -> None:
    """Write stepwell.json and a deterministic bundle; print its sha256 digest."""
    bundle = _load(directory) if directory.is_dir() else fail(f"{directory}: not a directory")
    manifest = bundle.manifest
    target = output or directory / "dist" / f"{manifest.name}-{manifest.version}.tgz"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bundle.data)
    out.print(f"{manifest.ref} -> {target}")
    out.print(bundle.digest)


@app.command()
def push(
    directory: Path = typer.Argument(..., help="The step directory"),
    api: str | None = typer.Option(
        None, "--api", help=f"Base URL of the API (env {API_URL_ENV}; default {DEFAULT_API_URL})"
    ),
    key: str | None = typer.Option(None, "--key", help=f"An API key (env {API_KEY_ENV})"),
    as_json: bool = typer.Option(False, "--json", help="Print the API's answer as JSON"),
) -> None:
    """Build the step's bundle like 'build' does and push it to the step registry."""
    if not directory.is_dir():
        fail(f"{directory}: not a directory")
    try:
        client = ApiClient.from_options(api, key)
    except ApiUsageError as exc:
        fail(str(exc))
    with client:
        bundle = _load(directory)
        manifest = bundle.manifest
        try:
            answer, created = client.push_bundle(
                bundle.data, f"{manifest.name}-{manifest.version}.tgz"
            )
        except ApiClientError as exc:
            fail(str(exc), code=1)
    if as_json:
        print_json(answer)
        return
    note = "" if created else ", unchanged: this exact bundle was pushed before"
    out.print(
        f"pushed {manifest.ref} ({answer.get('digest', bundle.digest)}){note}",
        markup=False,
        soft_wrap=True,
    )


@app.command()
def schema(directory: Path = typer.Argument(..., help="The step directory or bundle")) -> None:
    """Print the step's input and output JSON Schemas."""
    with user_errors():
        manifest = load_manifest(directory) if directory.is_dir() else _load(directory).manifest
    print_json({"input": manifest.input_schema, "output": manifest.output_schema})


@app.command()
def run(
    source: Path = typer.Argument(..., help="A step directory or a bundle file"),
    input_: str = typer.Option("{}", "--input", "-i", help="Input as JSON, or @file.json"),
    secret: list[str] = typer.Option([], "--secret", help="NAME=VALUE, repeatable"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    artifacts: Path = typer.Option(
        Path("stepwell-artifacts"), "--artifacts", help="Where the step's artifacts are written"
    ),
) -> None:
    """Run the step once in the hardened sandbox, as production does; the files it saves
    (ctx.artifacts, $STEPWELL_ARTIFACTS_DIR) are written to --artifacts."""
    payload = parse_json_option(input_, "--input")
    secrets = _secrets(secret)
    bundle = _load(source)
    problems = schema_problems(bundle.manifest.input_schema, payload, prefix="")
    if problems:
        message = "; ".join(str(p) for p in problems)
        if as_json:
            print_json(_failed("InputValidationError", f"input does not match: {message}"))
            raise typer.Exit(1)
        fail(f"the input does not match the step's input schema: {message}", code=1)
    with LocalRunner(quiet=as_json) as runner:
        result = runner.run(bundle, payload, secrets)
    try:
        saved = save_artifacts(result, artifacts)
    except OSError as exc:
        fail(f"--artifacts {artifacts}: {exc}", code=1)
    document = runner.as_document(result, saved)
    if as_json:
        print_json(document)
    else:
        runner.show(result)
        if saved:
            names = ", ".join(a["name"] for a in saved)
            err.print(f"artifacts in {artifacts.resolve()}: {names}", markup=False)
    raise typer.Exit(0 if result.ok else 1)


@app.command("test")
def run_examples(
    directory: Path = typer.Argument(..., help="The step directory or bundle"),
) -> None:
    """Run every declared example through the sandbox; show a diff for each mismatch."""
    bundle = _load(directory)
    examples = bundle.manifest.examples
    if not examples:
        fail(
            f"{bundle.manifest.ref} declares no examples: add examples to @step or step.json",
            code=1,
        )
    table = Table("#", "result", "duration")
    failures = 0
    with LocalRunner(quiet=False) as runner:
        results = [runner.run(bundle, example.input, {}) for example in examples]
    for index, (example, result) in enumerate(zip(examples, results, strict=True), start=1):
        if result.ok and result.output == example.output:
            table.add_row(str(index), "[green]pass[/green]", f"{result.duration_ms} ms")
            continue
        failures += 1
        table.add_row(str(index), "[red]FAIL[/red]", f"{result.duration_ms} ms")
        err.print(f"[bold]example {index}[/bold] input {json.dumps(example.input)}")
        if result.error is not None:
            err.print(f"  {result.error.type}: {result.error.message}", markup=False)
        else:
            err.print(_diff(example.output, result.output), markup=False)
    out.print(table)
    out.print(f"{len(examples) - failures} passed, {failures} failed")
    raise typer.Exit(1 if failures else 0)


def _diff(expected: Any, actual: Any) -> str:
    left = json.dumps(expected, indent=2, sort_keys=True).splitlines()
    right = json.dumps(actual, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(left, right, "expected", "actual", lineterm="", n=2))


def _secrets(pairs: list[str]) -> dict[str, str]:
    secrets = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail(f"--secret {pair!r}: write it as NAME=VALUE")
        secrets[name] = value
    return secrets


def _failed(error_type: str, message: str) -> dict[str, Any]:
    return {
        "status": "failed",
        "output": None,
        "error": {"type": error_type, "message": message, "traceback": ""},
        "logs": "",
        "duration_ms": 0,
    }
