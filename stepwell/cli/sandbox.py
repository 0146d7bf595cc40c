"""``stepwell sandbox``: housekeeping of step containers and layers.

``gc`` judges containers and layers as a worker's janitor does (sandbox.janitor) when the database
(``STEPWELL_DATABASE_URL``) is reachable: containers of this installation by their owner's lease,
layers by the uses any worker of this installation recorded on this engine (``layer_use``). Without
the database it says so and falls back to expiry labels and this machine's layer markers; a SQLite
file that does not exist is never created just to be read.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import docker
import sqlalchemy as sa
import typer
from rich.console import Console

from sandbox.janitor import collect
from sandbox.leftovers import LeaseView
from stepwell import leases
from stepwell.cli.docker_client import connect
from stepwell.database_check import SETTING, masked, reason
from stepwell.layer_uses import recently_used
from stepwell_settings import Settings
from ui_api.db import create_engine, normalize_url

app = typer.Typer(help="Housekeeping of step containers and layers.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@app.command()
def gc(
    everything: bool = typer.Option(
        False, "--all", help="Remove every Stepwell container, not only leftovers."
    ),
    layers: bool = typer.Option(
        True, "--layers/--no-layers", help="Also remove layers unused for layer_max_age_days."
    ),
) -> None:
    """Remove containers left behind by dead workers, and stale image layers."""
    settings = Settings()
    client = connect()
    engine = _open_database(settings)
    try:
        view, used = _from_database(client, engine, settings.database)
        report = collect(
            client,
            settings.sandbox_config(),
            everything=everything,
            layer_max_age_s=settings.layer_max_age_days * 86400 if layers else None,
            leases=view,
            recently_used=used,
        )
        if view is not None and engine is not None:
            leases.expire(engine, leases.engine_id_of(client))
    finally:
        if engine is not None:
            engine.dispose()
    out.print(f"removed {len(report.containers)} containers and {len(report.images)} images")


_FALLBACK = (
    "containers are judged by their expiry labels, and layers by this machine's use markers "
    "and their image age only"
)


def _open_database(settings: Settings) -> sa.Engine | None:
    """An engine for the database, or None with a note on stderr when it is a SQLite file that
    does not exist (opening it would create an empty one and leave it behind)."""
    url = sa.engine.make_url(normalize_url(settings.database))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database or "").resolve()
        if not path.is_file():
            unset = "STEPWELL_DATABASE_URL is not set and this home has none"
            err.print(
                f"no database at {path}: "
                f"{unset if settings.database_url is None else 'STEPWELL_DATABASE_URL names it'}; "
                f"{_FALLBACK}",
                soft_wrap=True,
            )
            return None
    return create_engine(settings.database)


def _from_database(
    client: docker.DockerClient, engine: sa.Engine | None, url: str
) -> tuple[Callable[[], LeaseView] | None, Callable[[float], set[str]] | None]:
    """The lease view and the recorded layer uses of this engine, or (None, None) with a note
    on stderr when the database cannot tell."""
    if engine is None:
        return None, None
    try:
        installation = leases.installation_id(engine)
        engine_id = leases.engine_id_of(client)
    except (sa.exc.SQLAlchemyError, leases.LeaseError) as exc:
        err.print(
            f"cannot read the database {SETTING}={masked(url)} ({reason(exc)}): {_FALLBACK}",
            soft_wrap=True,
        )
        return None, None

    def view() -> LeaseView:
        return LeaseView(installation, leases.live_owners(engine, engine_id))

    return view, partial(recently_used, engine, engine_id)
