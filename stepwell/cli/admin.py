"""``stepwell admin``: bootstrap workspaces and API keys directly in the database."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
import typer

from stepwell.cli.output import fail, out, print_json
from stepwell_settings import Settings
from ui_api.auth.service import AdminError, create_key, create_workspace, find_workspace
from ui_api.db import create_engine, migrate, session_scope

app = typer.Typer(help="Bootstrap workspaces and API keys (runs against the database).")

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


def _engine() -> sa.Engine:
    engine = create_engine(Settings().database)
    migrate(engine)
    return engine


@app.command("create-workspace")
def create_workspace_command(
    name: Annotated[str, typer.Argument(help="workspace name, unique")],
    as_json: JsonOption = False,
) -> None:
    """Create a workspace and its first API key (shown once)."""
    try:
        with session_scope(_engine()) as session:
            workspace = create_workspace(session, name)
            _, key = create_key(session, workspace.id, "first key")
    except AdminError as exc:
        fail(str(exc))
    if as_json:
        print_json({"workspace_id": workspace.id, "name": workspace.name, "key": key})
        return
    out.print(f"workspace  {workspace.id} ({workspace.name})\nAPI key    {key}")
    out.print("The key is shown once; it is stored only as a hash.")


@app.command("create-key")
def create_key_command(
    workspace: Annotated[str, typer.Argument(help="workspace id or name")],
    name: Annotated[str, typer.Option(help="what the key is for")] = "cli",
    as_json: JsonOption = False,
) -> None:
    """Create another API key for a workspace (shown once)."""
    try:
        with session_scope(_engine()) as session:
            found = find_workspace(session, workspace)
            if found is None:
                raise AdminError(f"no workspace {workspace!r}")
            row, key = create_key(session, found.id, name)
    except AdminError as exc:
        fail(str(exc))
    if as_json:
        print_json({"workspace_id": found.id, "key_id": row.id, "key": key})
        return
    out.print(f"API key    {key}\nThe key is shown once; it is stored only as a hash.")
