"""``stepwell run artifact RUN STEP NAME [-o FILE]``: one file a step saved, from the database and
the bundle store (as ``stepwell run show`` reads Temporal directly, no API key needed).

``STEP`` is the execution as ``run show`` lists it (``score``, or ``each[2]`` for a foreach item).
Without ``-o`` the file is written under its own name in the current directory (never over an
existing file); ``-o -`` writes the bytes to stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path

import sqlalchemy as sa
import typer

from activities.bundle_store import open_bundle_store
from activities.bundles import BundleNotFound, BundleStoreError
from step_sdk.artifacts import name_problem
from stepwell.cli.output import err, fail
from stepwell_settings import Settings
from ui_api.artifacts.models import ArtifactRow
from ui_api.db import create_engine

ARTIFACT = ArtifactRow.__table__  # type: ignore[attr-defined]


def artifact(
    run_id: str = typer.Argument(..., help="The run id"),
    step_id: str = typer.Argument(..., help="The execution: a step id, or `id[i]` for an item"),
    name: str = typer.Argument(..., help="The artifact's name"),
    output: str | None = typer.Option(
        None, "-o", "--output", help="Where to write it ('-' for stdout; default: ./NAME)"
    ),
    attempt: int | None = typer.Option(None, "--attempt", min=1, help="An earlier attempt's"),
) -> None:
    """Download one artifact of a run (its latest attempt's unless --attempt)."""
    settings = Settings()
    engine = create_engine(settings.database)
    try:
        query = sa.select(ARTIFACT.c.digest, ARTIFACT.c.name).where(
            ARTIFACT.c.run_id == run_id, ARTIFACT.c.step_id == step_id, ARTIFACT.c.name == name
        )
        if attempt is not None:
            query = query.where(ARTIFACT.c.attempt == attempt)
        with engine.connect() as connection:
            found = connection.execute(query.order_by(ARTIFACT.c.attempt.desc()).limit(1)).first()
        if found is None:
            fail(f"run {run_id}: no artifact {name!r} of step {step_id!r}", code=1)
        try:
            data = open_bundle_store(settings, engine).get(found.digest)
        except (BundleNotFound, BundleStoreError) as exc:
            fail(f"artifact {name!r}: {exc}", code=1)
    finally:
        engine.dispose()
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    if output is None:
        # the name was checked when it was stored; checked again before it becomes a path
        if name_problem(found.name) is not None:
            fail(f"artifact {name!r} cannot be a file name here: give -o FILE")
        target = Path.cwd() / found.name
        if target.exists():
            fail(f"{target} exists: give -o FILE to write elsewhere (or over it)")
    else:
        target = Path(output)
    target.write_bytes(data)
    err.print(f"{target} ({len(data)} bytes)", markup=False)
