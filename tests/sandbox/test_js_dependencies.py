"""npm dependency layers (contract 4 for node20): exact versions, no scripts, no network, reused."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import socket
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope, StepContext
from sandbox.errors import DependencyError
from sandbox.launcher import Sandbox
from sandbox.layers import DEPS_REPOSITORY, layer_key
from sandbox.npm_layers import NODE_MODULES, NpmLayers
from sandbox.npm_lock import locked_packages
from sandbox.npm_resolve import resolve_lock
from sandbox.npm_tarballs import cache_path, fetch_tarballs
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Limits, Manifest
from step_sdk.runtimes import NODE

pytestmark = pytest.mark.network

DAYJS = "dayjs@1.11.13"
# The layer tests remove their layer before and after. Its dependency set is one no example
# step has: the session's warm pools keep containers of the examples' layers (date.format's is
# exactly dayjs), and an image in use cannot be removed.
MS = "ms@2.1.3"
# Never built by any test: a layer of it cannot exist, so asking for it must reach the registry.
NEVER_BUILT = "ms@2.0.0"
# A real package that needs an install script (it builds a native addon with node-gyp-build).
WITH_INSTALL_SCRIPT = "utf-8-validate@6.0.5"


def node_bundle(source: str, requirements: tuple[str, ...]) -> Bundle:
    manifest = Manifest(
        name="tests.js-deps",
        version="1.0.0",
        runtime=NODE,
        entrypoint="step.mjs",
        requirements=requirements,
        limits=Limits(timeout_s=20),
    )
    return build_bundle(manifest, {"step.mjs": source.encode()})


def drop_layer(client: docker.DockerClient, key: str) -> None:
    for image in client.images.list(name=DEPS_REPOSITORY):
        if any(tag.endswith(key[:40]) for tag in image.tags):
            client.images.remove(str(image.id), force=True)


@pytest.fixture
def fresh_ms_layer(docker_client: docker.DockerClient, node_image: str) -> Iterator[str]:
    """The key of ms's layer, with any earlier build of it removed first and after."""
    key = layer_key(node_image, [MS], NODE)
    drop_layer(docker_client, key)
    yield key
    drop_layer(docker_client, key)


def list_files(client: docker.DockerClient, image: str, path: str) -> list[str]:
    """Paths under ``path`` in ``image``, read by the host from a container that never starts."""
    container = client.api.create_container(image=image, command=["true"])
    try:
        stream, _ = client.api.get_archive(container["Id"], path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            return tar.getnames()
    finally:
        client.api.remove_container(container["Id"], force=True)


def test_a_step_imports_its_npm_dependency_and_the_layer_is_reused(
    sandbox: Sandbox, run_id: str, fresh_ms_layer: str
) -> None:
    bundle = node_bundle(
        """
        import ms from "ms";
        import { createRequire } from "node:module";
        const require = createRequire(import.meta.url);
        export default async (input) => ({
          formatted: ms(input.span),
          where: require.resolve("ms"),
        });
        """,
        (MS,),
    )
    envelope = Envelope(input={"span": "2 days"}, context=StepContext(run_id=run_id))
    layers = sandbox.images.node_layers
    assert isinstance(layers, NpmLayers)
    builds = layers.builds
    first = sandbox.run(bundle, envelope)
    assert first.error is None, first.error
    assert first.output["formatted"] == 172_800_000
    assert first.output["where"].startswith(f"{NODE_MODULES}/ms/")
    assert layers.builds == builds + 1
    second = sandbox.run(bundle, envelope)
    assert second.output == first.output
    assert layers.builds == builds + 1  # the second run found the layer: a cache hit


def test_the_layer_is_built_once_per_key_and_found_by_a_new_worker(
    docker_client: docker.DockerClient,
    sandbox_config: SandboxConfig,
    node_image: str,
    fresh_ms_layer: str,
) -> None:
    first = NpmLayers(docker_client, sandbox_config)
    image = first.ensure(node_image, [MS])
    assert first.builds == 1
    assert first.ensure(node_image, [MS]) == image
    again = NpmLayers(docker_client, sandbox_config)  # another worker, same engine and cache
    assert again.ensure(node_image, [MS]) == image
    assert again.builds == 0
    built = docker_client.images.get(image)
    assert built.labels[labels.ROLE] == labels.ROLE_DEPS
    assert built.labels[labels.LAYER_KEY] == fresh_ms_layer
    assert built.labels[labels.RUNTIME] == NODE  # a warm pool of it starts the node runner
    assert (sandbox_config.cache_dir / "layers" / f"{fresh_ms_layer}.used").exists()


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        ("dayjs@1.11.999", r"npm has no version dayjs@1\.11\.999 in the registry"),
        ("stepwell-no-such-package-xyz@1.0.0", r"stepwell-no-such-package-xyz@1\.0\.0 is not in"),
    ],
)
def test_an_unknown_version_or_package_fails_clearly(
    sandbox: Sandbox, run_id: str, requirement: str, message: str
) -> None:
    bundle = node_bundle("export default async () => 1;\n", (requirement,))
    with pytest.raises(DependencyError, match=message):
        sandbox.run(bundle, Envelope(input={}, context=StepContext(run_id=run_id)))


def test_a_package_with_an_install_script_is_refused_before_anything_is_built(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, node_image: str
) -> None:
    layers = NpmLayers(docker_client, sandbox_config)
    with pytest.raises(DependencyError) as caught:
        layers.ensure(node_image, [WITH_INSTALL_SCRIPT])
    assert "utf-8-validate@6.0.5 has an install script" in str(caught.value)
    assert "Stepwell never runs install scripts" in str(caught.value)
    assert layers.builds == 0


def test_a_registry_that_does_not_answer_is_a_dependency_error(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, node_image: str
) -> None:
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        registry = f"http://127.0.0.1:{closed.getsockname()[1]}/"
        config = replace(sandbox_config, npm_registry=registry)
        with pytest.raises(DependencyError, match=rf"cannot reach the npm registry {registry}"):
            NpmLayers(docker_client, config).ensure(node_image, [NEVER_BUILT])


def test_a_tarball_that_does_not_match_the_lock_is_refused(tmp_path: Path) -> None:
    lock = resolve_lock([DAYJS], cache=tmp_path / "npm")
    [package] = locked_packages(lock, [DAYJS], registry="https://registry.npmjs.org/")
    # The attack: the bytes served for dayjs are another package's (a swapped tarball).
    other = resolve_lock(["lodash@4.17.21"], cache=tmp_path / "npm")
    forged = replace(package, integrity=other["packages"]["node_modules/lodash"]["integrity"])
    with httpx.Client() as client, pytest.raises(DependencyError) as caught:
        fetch_tarballs([forged], tmp_path / "cache", client)
    assert "dayjs@1.11.13" in str(caught.value)
    assert "does not match the lock's integrity" in str(caught.value)
    assert not (tmp_path / "cache").exists()  # nothing of it was kept


def canary_tarball() -> bytes:
    """A package whose every install-time script would leave a file behind."""
    leave = "node -e \"require('fs').writeFileSync('{}', 'ran')\""
    manifest = {
        "name": "stepwell-canary",
        "version": "1.0.0",
        "main": "index.js",
        "scripts": {
            stage: f"{leave.format('/tmp/canary-' + stage)} && "
            f"{leave.format(NODE_MODULES + '/canary-' + stage)} && touch canary-{stage}"
            for stage in ("preinstall", "install", "postinstall", "prepare")
        },
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, text in (
            ("package/package.json", json.dumps(manifest)),
            ("package/index.js", "module.exports = 'canary';\n"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return out.getvalue()


def test_the_build_container_has_no_network_and_runs_no_script(
    docker_client: docker.DockerClient,
    sandbox_config: SandboxConfig,
    node_image: str,
    tmp_path: Path,
) -> None:
    # The host refuses a package with an install script before building (test above); this
    # checks the layer beneath that: handed such a package anyway, the build runs none of it.
    tarball = canary_tarball()
    digest = hashlib.sha512(tarball).digest()
    lock: dict[str, Any] = {
        "name": "stepwell-layer",
        "version": "0.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {
                "name": "stepwell-layer",
                "version": "0.0.0",
                "dependencies": {"stepwell-canary": "1.0.0"},
            },
            "node_modules/stepwell-canary": {
                "version": "1.0.0",
                "resolved": "https://registry.npmjs.org/stepwell-canary/-/stepwell-canary-1.0.0.tgz",
                "integrity": "sha512-" + base64.b64encode(digest).decode(),
                "hasInstallScript": True,
            },
        },
    }
    with pytest.raises(DependencyError, match="never runs install scripts"):
        locked_packages(lock, ["stepwell-canary@1.0.0"], registry="https://registry.npmjs.org/")
    target = cache_path(tmp_path, "sha512", digest)
    target.parent.mkdir(parents=True)
    target.write_bytes(tarball)
    key = hashlib.sha256(f"canary-{uuid.uuid4()}".encode()).hexdigest()
    since = int(time.time())
    layers = NpmLayers(docker_client, sandbox_config)
    try:
        image = layers.install_locked(node_image, ["stepwell-canary@1.0.0"], lock, tmp_path, key)
        until = int(time.time()) + 1
        installed = list_files(docker_client, image, f"{NODE_MODULES}/stepwell-canary")
        temporary = list_files(docker_client, image, "/tmp")
        modules = list_files(docker_client, image, NODE_MODULES)
    finally:
        drop_layer(docker_client, key)
    assert "stepwell-canary/index.js" in installed
    assert not [name for name in installed + temporary + modules if "canary-" in name]
    created = {
        event["Actor"]["ID"]
        for event in docker_client.events(
            since=since,
            until=until,
            decode=True,
            filters={
                "type": "container",
                "event": "create",
                "label": [f"{labels.LAYER_KEY}={key}", f"{labels.ROLE}={labels.ROLE_BUILD}"],
            },
        )
    }
    assert len(created) == 1  # the build container
    networks = [
        event["Actor"]["Attributes"]
        for event in docker_client.events(
            since=since, until=until, decode=True, filters={"type": "network", "event": "connect"}
        )
        if event["Actor"]["Attributes"].get("container") in created
    ]
    assert networks and all(network["name"] == "none" for network in networks), networks
    left = docker_client.api.containers(all=True, filters={"id": list(created)})
    assert left == []
