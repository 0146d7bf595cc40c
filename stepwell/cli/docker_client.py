"""Connecting to the Docker engine from the CLI, with a message a person can act on."""

from __future__ import annotations

import docker
import typer
from docker.errors import DockerException
from rich.console import Console

err = Console(stderr=True)


def connect() -> docker.DockerClient:
    """A client for ``DOCKER_HOST`` (or the local socket), or exit with instructions."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as exc:
        err.print(
            "[red]error:[/red] no Docker engine answers "
            f"({str(exc).splitlines()[0][:160]}).\n"
            "Start one (as root: 'make setup' installs docker.io and starts dockerd), "
            "or point DOCKER_HOST at a Docker host."
        )
        raise typer.Exit(2) from None
    return client
