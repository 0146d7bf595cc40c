"""Layer garbage collection counts every worker of the installation on the engine.

The layers here are tiny images committed for the test and carrying a label of their own: every
pass is limited to that label, so no other layer on the shared engine is ever looked at.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import docker
import pytest
import sqlalchemy as sa

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.janitor import collect_layers
from sandbox.layers import DEPS_REPOSITORY
from sandbox.step_images import StepImages
from step_sdk.requirements import parse_requirements
from stepwell import leases
from stepwell.layer_uses import LayerUseRecorder, recently_used
from tests.leases.workers import STEPWELL, containers_of
from tests.sandbox.conftest import make_bundle

pytestmark = pytest.mark.docker
FOURTEEN_DAYS_S = 14 * 86400
# A pass "fifteen days from now": every layer made by a test is older than the maximum age then.
LATER = 15 * 86400


@pytest.fixture
def test_label() -> str:
    return f"stepwell.test-layers={secrets.token_hex(6)}"


@pytest.fixture
def make_layer(
    docker_client: docker.DockerClient, base_image: str, test_label: str
) -> Iterator[partial[str]]:
    """Commit a tiny image labelled as a dependency layer with a given key; removed after."""
    made: list[str] = []

    def make(key: str) -> str:
        container = _scratch_container(docker_client, base_image)
        try:
            name, value = test_label.split("=")
            repository = f"stepwell/test-layer-{secrets.token_hex(4)}"
            docker_client.api.commit(
                container,
                repository=repository,
                tag="v",
                conf={
                    "Labels": {labels.ROLE: labels.ROLE_DEPS, labels.LAYER_KEY: key, name: value}
                },
            )
        finally:
            docker_client.api.remove_container(container, force=True)
        made.append(f"{repository}:v")
        return f"{repository}:v"

    yield partial(make)
    for tag in made:
        try:
            docker_client.images.remove(tag)
        except docker.errors.ImageNotFound:
            continue


def _scratch_container(client: docker.DockerClient, image: str) -> str:
    """A container to commit a layer from; it inherits the base image's ``stepwell.role``, so it
    gets an expiry in the future, lest any janitor on the engine take it for a leftover."""
    expires = {labels.EXPIRES: str(int(time.time()) + 600)}
    return str(client.api.create_container(image, command=["true"], labels=expires)["Id"])


def test_a_layer_another_worker_used_is_kept_and_an_unused_one_goes(
    docker_client: docker.DockerClient,
    fleet_engine: sa.Engine,
    make_layer: partial[str],
    test_label: str,
    tmp_path: Path,
) -> None:
    """This machine has no marker for either layer (a fresh cache): only the table tells."""
    used_key, unused_key = f"used-{secrets.token_hex(8)}", f"unused-{secrets.token_hex(8)}"
    used, unused = make_layer(used_key), make_layer(unused_key)
    engine_id = leases.engine_id_of(docker_client)
    other_worker = LayerUseRecorder(fleet_engine, engine_id)
    other_worker(used_key)  # what the sandbox tells the recorder on each use
    other_worker.flush()  # what the worker's background task does

    config = replace(SandboxConfig(), cache_dir=tmp_path / "cache")
    removed = collect_layers(
        docker_client,
        config,
        max_age_s=FOURTEEN_DAYS_S,
        recently_used=partial(recently_used, fleet_engine, engine_id),
        only_label=test_label,
        now=time.time() + LATER,
    )
    assert removed == [unused]
    assert docker_client.images.get(used)
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(unused)


def test_a_layer_used_on_another_engine_does_not_count(
    docker_client: docker.DockerClient,
    fleet_engine: sa.Engine,
    make_layer: partial[str],
    test_label: str,
    tmp_path: Path,
) -> None:
    key = f"elsewhere-{secrets.token_hex(8)}"
    tag = make_layer(key)
    elsewhere = LayerUseRecorder(fleet_engine, "ANOTHER:ENGINE")
    elsewhere(key)
    elsewhere.flush()
    engine_id = leases.engine_id_of(docker_client)
    removed = collect_layers(
        docker_client,
        replace(SandboxConfig(), cache_dir=tmp_path / "cache"),
        max_age_s=FOURTEEN_DAYS_S,
        recently_used=partial(recently_used, fleet_engine, engine_id),
        only_label=test_label,
        now=time.time() + LATER,
    )
    assert removed == [tag]


def test_a_new_layer_nobody_recorded_is_kept_until_it_is_older_than_the_max_age(
    docker_client: docker.DockerClient,
    fleet_engine: sa.Engine,
    make_layer: partial[str],
    test_label: str,
    tmp_path: Path,
) -> None:
    """No use in the table, no marker here: as a layer another installation sharing the engine
    just built looks. It stays while the image (its engine's ``Created``) is younger than the
    maximum age, and goes in a pass run once it is older."""
    tag = make_layer(f"foreign-{secrets.token_hex(8)}")
    engine_id = leases.engine_id_of(docker_client)
    passes = partial(
        collect_layers,
        docker_client,
        replace(SandboxConfig(), cache_dir=tmp_path / "cache"),
        max_age_s=FOURTEEN_DAYS_S,
        recently_used=partial(recently_used, fleet_engine, engine_id),
        only_label=test_label,
    )
    assert passes() == []
    assert docker_client.images.get(tag)
    assert passes(now=time.time() + LATER) == [tag]
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(tag)


def test_an_old_layer_a_container_still_uses_is_kept(
    docker_client: docker.DockerClient,
    make_layer: partial[str],
    test_label: str,
    tmp_path: Path,
) -> None:
    tag = make_layer(f"in-use-{secrets.token_hex(8)}")
    expires = {labels.EXPIRES: str(int(time.time()) + 600)}
    container = docker_client.api.create_container(tag, command=["true"], labels=expires)["Id"]
    try:
        removed = collect_layers(
            docker_client,
            replace(SandboxConfig(), cache_dir=tmp_path / "cache"),
            max_age_s=FOURTEEN_DAYS_S,
            only_label=test_label,
            now=time.time() + LATER,
        )
        assert removed == []
        assert docker_client.images.get(tag)
    finally:
        docker_client.api.remove_container(container, force=True)


def test_the_gc_command_without_a_database_says_it_judges_by_local_facts_only(
    docker_client: docker.DockerClient, base_image: str, tmp_path: Path
) -> None:
    """Only containers (--no-layers): a layer pass here would look at the whole shared engine."""
    owner = leases.new_owner_id()
    container = docker_client.api.create_container(
        base_image,
        command=["true"],
        labels={
            labels.ROLE: labels.ROLE_POOLED,
            labels.OWNER: owner,
            labels.INSTALLATION: f"inst_{secrets.token_hex(10)}",
            labels.EXPIRES: str(2**40),
        },
    )["Id"]
    try:
        env = {
            **os.environ,
            "STEPWELL_HOME": str(tmp_path / "home"),
            "STEPWELL_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/nowhere",
        }
        done = subprocess.run(
            [STEPWELL, "sandbox", "gc", "--no-layers"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "cannot read the database STEPWELL_DATABASE_URL=postgresql" in done.stderr
        assert "127.0.0.1:9/nowhere" in done.stderr
        assert "expiry labels" in done.stderr
        assert containers_of(docker_client, owner) == {container}, "judged by expiry: kept"
    finally:
        docker_client.api.remove_container(container, force=True)


def test_the_gc_command_in_a_fresh_home_says_there_is_no_database_and_creates_none(
    tmp_path: Path,
) -> None:
    """The default SQLite file of a home that has none: reading it must not create it. Only
    containers (--no-layers), as above; no container here is this home's, so none goes."""
    home = tmp_path / "home"
    env = {**os.environ, "STEPWELL_HOME": str(home)}
    env.pop("STEPWELL_DATABASE_URL", None)
    done = subprocess.run(
        [STEPWELL, "sandbox", "gc", "--no-layers"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    message = " ".join(done.stderr.split())
    assert f"no database at {home.resolve() / 'stepwell.db'}" in message
    assert "STEPWELL_DATABASE_URL is not set and this home has none" in message
    assert "expiry labels" in message
    assert "OperationalError" not in message
    assert not (home / "stepwell.db").exists()


def test_the_gc_command_removes_a_dead_workers_containers_and_lease(
    docker_client: docker.DockerClient,
    base_image: str,
    fleet_url: str,
    fleet_engine: sa.Engine,
    installation: str,
    tmp_path: Path,
) -> None:
    engine_id = leases.engine_id_of(docker_client)
    dead, live = leases.new_owner_id(), leases.new_owner_id()
    leases.register(fleet_engine, dead, engine_id, lease_s=0.2)
    leases.register(fleet_engine, live, engine_id, lease_s=300)
    made = {
        owner: docker_client.api.create_container(
            base_image,
            command=["true"],
            labels={
                labels.ROLE: labels.ROLE_POOLED,
                labels.OWNER: owner,
                labels.INSTALLATION: installation,
                labels.EXPIRES: str(2**40),
            },
        )["Id"]
        for owner in (dead, live)
    }
    try:
        deadline = time.monotonic() + 10
        while dead in leases.live_owners(fleet_engine, engine_id):
            assert time.monotonic() < deadline, "a fifth-of-a-second lease never expired"
            time.sleep(0.05)
        env = {
            **os.environ,
            "STEPWELL_HOME": str(tmp_path / "home"),
            "STEPWELL_DATABASE_URL": fleet_url,
        }
        done = subprocess.run(
            [STEPWELL, "sandbox", "gc", "--no-layers"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert containers_of(docker_client, dead) == set()
        assert containers_of(docker_client, live) == {made[live]}
        assert leases.live_owners(fleet_engine, engine_id) == {live}
        assert leases.expire(fleet_engine, engine_id) == [], "the command deleted the dead lease"
    finally:
        for container in made.values():
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.api.remove_container(container, force=True)


def test_the_sandbox_reports_each_layer_it_uses_to_its_recorder(
    docker_client: docker.DockerClient, base_image: str, tmp_path: Path
) -> None:
    """The layer exists already (committed here under the tag the key gives), so nothing is
    built: resolving the bundle twice reports its key once (a reuse within the minute is not
    reported again)."""
    config = replace(SandboxConfig(), cache_dir=tmp_path / "cache")
    reported: list[str] = []
    images = StepImages(docker_client, config, on_layer_use=reported.append)
    wanted = (f"stepwell-test-{secrets.token_hex(4)}==1.0",)
    key = images.layers.key(base_image, parse_requirements(list(wanted)))
    tag = f"{DEPS_REPOSITORY}:{key[:40]}"
    container = _scratch_container(docker_client, base_image)
    try:
        repository, _, version = tag.partition(":")
        docker_client.api.commit(container, repository=repository, tag=version)
    finally:
        docker_client.api.remove_container(container, force=True)
    try:
        bundle = make_bundle("def main():\n    return 1\n", requirements=wanted)
        first = images.for_bundle(bundle)
        assert images.for_bundle(bundle) == first
        assert reported == [key]
        assert images.layers.builds == 0
    finally:
        docker_client.images.remove(tag)
