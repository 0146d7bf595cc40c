"""Entry point of the ``stepwell`` command."""

from __future__ import annotations

import typer

from stepwell.cli import images, sandbox, step

app = typer.Typer(
    help="Stepwell: chain sandboxed code steps into flows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(images.app, name="images")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(step.app, name="step")


if __name__ == "__main__":
    app()
