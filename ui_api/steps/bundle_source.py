"""A bundle's Python checked at push, by parsing it (never importing or running any of it).

Two faults would otherwise show only when a run reaches the step: a source file that does not
parse, and an entrypoint ``module:function`` whose module defines no such name at module level.
Both are found with :mod:`ast`. Parsing untrusted source costs memory in proportion to its size,
so each Python file is capped at :data:`MAX_SOURCE_FILE_BYTES` (a step's own code is small; its
libraries come from ``requirements``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from step_sdk.errors import Problem
from step_sdk.validation import pointer

MAX_SOURCE_FILE_BYTES = 1024 * 1024


def source_problems(entrypoint: str, files: dict[str, bytes]) -> list[Problem]:
    """Every ``.py`` file that does not parse, and an entrypoint function its module lacks.

    Pointers: ``/bundle/<path>`` for a file, ``/manifest/entrypoint`` for the function. Messages
    name the file and line. ``files`` maps bundle paths to contents (the module file of the
    entrypoint is known to be among them).
    """
    problems: list[Problem] = []
    trees: dict[str, ast.Module] = {}
    for path in sorted(files):
        if not path.endswith(".py"):
            continue
        tree, problem = _parse(path, files[path])
        if problem is not None:
            problems.append(problem)
        elif tree is not None:
            trees[path] = tree
    module, _, function = entrypoint.partition(":")
    base = module.replace(".", "/")
    found = next((p for p in (f"{base}.py", f"{base}/__init__.py") if p in files), None)
    if found is not None and found in trees and not _binds(trees[found], function):
        problems.append(
            Problem(
                "/manifest/entrypoint",
                f"entrypoint {entrypoint!r}: {found} defines no {function!r} at module level "
                f"(functions it defines: {', '.join(_functions(trees[found])) or 'none'})",
            )
        )
    return problems


def _parse(path: str, source: bytes) -> tuple[ast.Module | None, Problem | None]:
    where = pointer(["bundle", path])
    if len(source) > MAX_SOURCE_FILE_BYTES:
        message = (
            f"{path} is {len(source)} bytes; a Python file of a step is at most "
            f"{MAX_SOURCE_FILE_BYTES} bytes (put libraries in 'requirements')"
        )
        return None, Problem(where, message)
    try:
        return ast.parse(source, filename=path), None
    except SyntaxError as exc:
        line = f", line {exc.lineno}" if exc.lineno else ""
        return None, Problem(where, f"{path}{line}: Python syntax error: {exc.msg}")
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        return None, Problem(where, f"{path}: not parseable Python: {exc or type(exc).__name__}")


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at module level: the body, and blocks of if/try/with/for/while."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for name in ("body", "orelse", "finalbody"):
            yield from _module_level(getattr(statement, name, []))
        for handler in getattr(statement, "handlers", []):
            yield from _module_level(handler.body)


def _bound_names(statement: ast.stmt) -> Iterator[str]:
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield statement.name
    elif isinstance(statement, ast.Import | ast.ImportFrom):
        for alias in statement.names:
            yield alias.asname or alias.name.split(".", 1)[0]
    elif isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    yield node.id


def _binds(tree: ast.Module, name: str) -> bool:
    """Whether the module binds ``name`` at module level (``from x import *`` might)."""
    for statement in _module_level(tree.body):
        names = set(_bound_names(statement))
        if name in names or "*" in names:
            return True
    return False


def _functions(tree: ast.Module) -> list[str]:
    return [
        statement.name
        for statement in tree.body
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef)
    ][:10]
