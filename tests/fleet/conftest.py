"""Show the fleet test's figures in pytest's summary, also under -q."""

from __future__ import annotations

import json

import pytest

from tests.fleet.figures import FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.write_sep("-", "fleet figures (test-output/fleet/figures.json)")
        terminalreporter.write_line(json.dumps(FIGURES, indent=2))
