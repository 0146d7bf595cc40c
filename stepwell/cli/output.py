"""Console helpers shared by the CLI's commands: one way to print errors and JSON."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from step_sdk.bundle import BundleError
from step_sdk.errors import StepDefinitionError
from step_sdk.json_values import describe, json_value_problems
from step_sdk.project import ProjectError


def _tolerant_streams() -> None:
    """Never die printing: a character the terminal's encoding cannot hold (box drawing on an
    ASCII terminal, a lone surrogate from anywhere) is written as a backslash escape."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


_tolerant_streams()
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
USAGE_EXIT = 2


def fail(message: str, code: int = USAGE_EXIT) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the mistakes a user can make into one clear line and a non-zero exit."""
    try:
        yield
    except (ProjectError, BundleError, StepDefinitionError) as exc:
        fail(str(exc))


def print_json(document: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else.

    Text the terminal cannot encode (a legacy encoding, or a lone surrogate in a value read
    back from somewhere) is written as JSON ``\\u`` escapes instead of crashing the command.
    """
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False)
    try:
        text.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(document, indent=2, sort_keys=False)
    typer.echo(text)


def parse_json_option(value: str, option: str) -> Any:
    """Parse ``JSON`` or ``@file`` given to ``option``; exit with a clear message (naming the
    JSON pointer) if it is not JSON, or holds non-finite numbers or lone surrogates."""
    text = value
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            fail(f"{option}: cannot read {value[1:]}: {exc.strerror}")
        except UnicodeDecodeError as exc:
            fail(f"{option}: {value[1:]} is not UTF-8 text (byte {exc.start})")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{option} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except (ValueError, RecursionError) as exc:  # an int of 5000 digits, absurd nesting
        fail(f"{option} is not JSON: {str(exc) or type(exc).__name__}")
    # Python reads NaN, Infinity, 1e999 and lone surrogates, which no run can carry.
    if problems := json_value_problems(value):
        fail(f"{option} holds values JSON cannot carry: {describe(problems)}")
    return value
