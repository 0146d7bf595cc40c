"""The arrows between packages point one way (ARCHITECTURE.md, "Data flow"): the SDK imports
neither the sandbox nor the wiring, the API does not import the wiring package ``stepwell``, and
workflow code imports nothing with side effects."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "step_sdk": {
        "sandbox",
        "stepwell",
        "ui_api",
        "activities",
        "workflows",
        "temporalio",
        "docker",
    },
    "ui_api": {"stepwell"},
    "sandbox": {"stepwell", "ui_api", "activities", "workflows", "temporalio"},
    "workflows": {"stepwell", "ui_api", "sandbox", "docker"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_it_must_not(package: str) -> None:
    offending = {
        str(path.relative_to(REPO)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((REPO / package).rglob("*.py"))
    }
    assert {name: bad for name, bad in offending.items() if bad} == {}
