"""``stepwell run artifact RUN STEP NAME [-o FILE]``: one file a step saved, from the database and
the bundle store (as ``stepwell run show`` reads Temporal directly, no API key needed).

``STEP`` is the execution as ``run show`` lists it (``score``, or ``each[2]`` for a foreach item).
Without ``-o`` the file is written under its own name in the current directory, with ``-o FILE``
to FILE; either way only as a new file (never over an existing file, a directory or through a
symbolic link; a one-line error says which). ``-o -`` writes the bytes to stdout.
"""

from __future__ import annotations

import errno
import os
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
    else:
        target = Path(output)
    _write_new(target, data)
    err.print(f"{target} ({len(data)} bytes)", markup=False)


def _write_new(target: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``target``: never over an existing file, a directory or
    through a symbolic link (dangling or not), opened with O_CREAT|O_EXCL|O_NOFOLLOW so nothing
    can appear between a check and the write. Exits with a one-line error otherwise."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except OSError as exc:
        if target.is_symlink():
            problem = "is a symbolic link; give a new file's path"
        elif target.is_dir():
            problem = "is a directory; give a new file's path (-o DIR/NAME)"
        elif exc.errno == errno.EEXIST:
            problem = "exists; give -o with a new file's path (nothing is written over a file)"
        elif exc.errno == errno.ENOENT:
            problem = "cannot be created: its folder does not exist"
        else:
            problem = f"cannot be created: {exc.strerror}"
        fail(f"{target} {problem}", code=1)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
    except OSError as exc:
        target.unlink(missing_ok=True)  # nothing half-written
        fail(f"{target}: {exc.strerror}", code=1)
