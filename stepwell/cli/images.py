"""``stepwell images``: the base runtime images and the cached layers on top of them."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from sandbox import labels
from sandbox.base_images import RUNTIMES, base_builder
from sandbox.errors import ImageBuildError
from stepwell.cli.docker_client import connect, err
from stepwell_settings import Settings

app = typer.Typer(help="Build and list Stepwell's container images.", no_args_is_help=True)
out = Console()


@app.command()
def build(
    rebuild: bool = typer.Option(False, "--rebuild", help="Build even if the image exists."),
    source: str = typer.Option(
        None, help="Where the root filesystem comes from: auto, pull or debootstrap."
    ),
    runtime: list[str] = typer.Option(
        [],
        "--runtime",
        help="Only this runtime's image (python3.11, node20, python3.11-browser); repeatable.",
    ),
) -> None:
    """Build the base runtime images: python3.11 (python:3.11-slim, or Debian bookworm built
    offline), node20 (node:20-slim, or Debian trixie's nodejs built offline) and
    python3.11-browser (the python3.11 root filesystem with Debian's chromium; its first build
    needs root, then it is cached)."""
    settings = Settings()
    chosen = source or settings.base_image_source
    if chosen not in ("auto", "pull", "debootstrap"):
        err.print(f"[red]error:[/red] --source must be auto, pull or debootstrap, not {chosen!r}")
        raise typer.Exit(2)
    unknown = [name for name in runtime if name not in RUNTIMES]
    if unknown:
        err.print(f"[red]error:[/red] --runtime {unknown[0]!r} is not one of {', '.join(RUNTIMES)}")
        raise typer.Exit(2)
    client, config = connect(), settings.sandbox_config()
    for name in runtime or RUNTIMES:
        builder = base_builder(client, config, name, log=lambda m: err.print(m))
        try:
            with err.status(f"building the {name} base image"):
                image_id = builder.ensure(rebuild=rebuild, source=chosen)
        except ImageBuildError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
        out.print(f"{builder.tag} {image_id}")


@app.command("list")
def list_images() -> None:
    """List Stepwell's images: the base image, dependency layers and step layers."""
    client = connect()
    table = Table("role", "tag", "id", "size (MB)", "created")
    for image in client.images.list(filters={"label": labels.ROLE}):
        role = (image.labels or {}).get(labels.ROLE, "")
        tags = ", ".join(image.tags) or "<untagged>"
        size = image.attrs.get("Size", 0) / 1e6
        table.add_row(
            role, tags, image.short_id, f"{size:.0f}", image.attrs.get("Created", "")[:19]
        )
    out.print(table)
