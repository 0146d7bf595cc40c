"""The figures the fleet test records (runs, spread per worker, seconds to recover), kept in
test-output/fleet/figures.json and shown in pytest's summary (tests/fleet/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "fleet"
FIGURES: dict[str, Any] = {}


def record(name: str, figures: dict[str, Any]) -> None:
    """Keep ``figures`` under ``name`` and rewrite figures.json."""
    FIGURES[name] = figures
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "figures.json").write_text(json.dumps(FIGURES, indent=2) + "\n")
