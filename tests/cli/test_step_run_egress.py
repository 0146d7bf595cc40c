"""``stepwell step run`` shows the execution's connections, as the real egress proxy recorded
them: in ``--json`` and as one line each."""

from __future__ import annotations

import json
import socket

import docker
import pytest

from tests.cli.conftest import Invoke, WriteStep
from tests.sandbox.egress_fixtures import bridge_address

pytestmark = pytest.mark.docker

CALL = """
import urllib.error, urllib.request
from step_sdk import step

@step(name="cli.netcall", version="1.0.0", egress=[{target!r}])
def main(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
"""


@pytest.fixture(autouse=True)
def _engine(base_image: str) -> None:
    """The base image must exist (and the engine answer) before the CLI runs a step."""


def test_run_shows_a_refused_connection(
    cli: Invoke, write_step: WriteStep, docker_client: docker.DockerClient
) -> None:
    with socket.create_server(("0.0.0.0", 0)) as listener:  # a host service on every address
        port = listener.getsockname()[1]
        target = f"{bridge_address(docker_client.api)}:{port}"
        directory = write_step(CALL.format(target=target))
        url = json.dumps({"url": f"http://{target}/x"})
        result = cli("step", "run", str(directory), "-i", url, "--json")
        assert result.exit_code == 0, result.output
        document = json.loads(result.output)
        assert document["output"] >= 400
        [record] = document["connections"]
        assert record["host"] + ":" + str(record["port"]) == target
        assert record["allowed"] is False and record["attempt"] == 1 and record["reason"]
        assert record["bytes_in"] == 0 and record["method"] == "GET"
        human = cli("step", "run", str(directory), "-i", url)
        assert human.exit_code == 0, human.output
        lines = human.output.splitlines()
        assert "connections:" in lines
        line = lines[lines.index("connections:") + 1]
        assert line.startswith(f"  attempt 1: {target} (") and "refused: " in line
        listener.settimeout(0.5)
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing reached the host's service
