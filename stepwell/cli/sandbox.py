"""``stepwell sandbox``: housekeeping of step containers."""

from __future__ import annotations

import typer
from rich.console import Console

from sandbox.janitor import collect
from stepwell.cli.docker_client import connect
from stepwell_settings import Settings

app = typer.Typer(help="Housekeeping of step containers and layers.", no_args_is_help=True)
out = Console()


@app.command()
def gc(
    everything: bool = typer.Option(
        False, "--all", help="Remove every Stepwell container, not only expired ones."
    ),
    layers: bool = typer.Option(
        True, "--layers/--no-layers", help="Also remove layers unused for layer_max_age_days."
    ),
) -> None:
    """Remove containers left behind by a crashed worker, and stale image layers."""
    settings = Settings()
    report = collect(
        connect(),
        settings.sandbox_config(),
        everything=everything,
        layer_max_age_s=settings.layer_max_age_days * 86400 if layers else None,
    )
    out.print(f"removed {len(report.containers)} containers and {len(report.images)} images")
