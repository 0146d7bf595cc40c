"""The node20 runtime image: Node 20, the runner, the labels and layout of the Python image."""

from __future__ import annotations

import json

import docker

from sandbox import labels
from sandbox.config import ENV_ALLOWLIST, SANDBOX_USER
from sandbox.node_image import content_digest, runner_source


def test_the_node_image_has_node_20_the_runner_and_the_base_labels(
    docker_client: docker.DockerClient, node_image: str
) -> None:
    image = docker_client.images.get(node_image)
    config = image.attrs["Config"]
    assert config["User"] == SANDBOX_USER
    assert config["WorkingDir"] == "/work"
    assert sorted(config["Env"]) == sorted(f"{k}={v}" for k, v in ENV_ALLOWLIST.items())
    assert config["Labels"][labels.ROLE] == labels.ROLE_BASE
    assert config["Labels"][labels.CONTENT] == content_digest()
    assert config["Labels"]["stepwell.runtime"] == "node20"
    probe = (
        "const fs = require('fs');"
        "const setuid = [];"
        "const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {"
        "  const p = d + '/' + e.name;"
        "  if (e.isDirectory()) walk(p);"
        "  else if (e.isFile() && (fs.statSync(p).mode & 0o6000)) setuid.push(p); } };"
        "for (const d of ['/usr', '/bin', '/sbin']) walk(d);"
        "console.log(JSON.stringify({ node: process.versions.node,"
        " runner: fs.readFileSync('/opt/stepwell/runner.mjs', 'utf8').length,"
        " setuid, dirs: ['bundle', 'node_modules'].map((n) => fs.statSync('/opt/stepwell/' + n)"
        ".isDirectory()) }))"
    )
    out = docker_client.containers.run(
        node_image, ["node", "-e", probe], remove=True, network_disabled=True
    )
    facts = json.loads(out)
    assert facts["node"].startswith("20.")
    assert facts["runner"] == len(runner_source().decode())
    assert facts["setuid"] == []
    assert facts["dirs"] == [True, True]
