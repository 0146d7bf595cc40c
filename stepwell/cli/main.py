"""Entry point of the ``stepwell`` command."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from stepwell.cli import admin, api, artifacts, flows, images, sandbox, step, up
from stepwell.cli.output import fail
from stepwell_settings import Settings, settings_problems

app = typer.Typer(
    help="Stepwell: chain sandboxed code steps into flows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _check_settings() -> None:
    """Refuse bad ``STEPWELL_*`` settings with one line each, before any command runs."""
    try:
        Settings()
    except (ValidationError, SettingsError) as exc:
        fail(f"invalid settings: {settings_problems(exc)}")


app.add_typer(images.app, name="images")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(step.app, name="step")
app.add_typer(flows.flow_app, name="flow")
flows.run_app.command("artifact")(artifacts.artifact)
app.add_typer(flows.run_app, name="run")
app.command()(flows.worker)
app.command()(up.up)
app.command()(api.api)
app.add_typer(admin.app, name="admin")


if __name__ == "__main__":
    app()
