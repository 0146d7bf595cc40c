"""docker-compose.yml, its socket override and the app image, checked without running them.

``docker-compose config`` (Debian's docker-compose package, which ``make setup`` installs)
validates and merges the files; the assertions read the merged result. A missing binary is a
failure, never a skip. Nothing is built or pulled: no registry is reachable in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from stepwell_settings import Settings
from ui_api.runs import search_attributes

REPO = Path(__file__).resolve().parents[2]
BASE = "docker-compose.yml"
SOCKET = "docker-compose.socket.yml"
SECOND_HOST = "docker-compose.second-host.yml"
REMOTE_WORKER = "docker-compose.worker.yml"
PRIVATE = "docker-compose.private.yml"
PLATFORM = {"postgres", "temporal", "temporal-ui", "api", "worker"}
REQUIRED = {
    "STEPWELL_SECRET_KEY": "s3cret-" + "x" * 40,
    "STEPWELL_POSTGRES_PASSWORD": "0123456789abcdef",
    "STEPWELL_PUBLIC_URL": "https://stepwell.example.com",
    "WORKER_DOCKER_HOST": "tcp://sandbox-1.internal:2376",
}
SOCKET_REQUIRED = {"WORKER_DOCKER_GID": "998"}
SECOND_HOST_REQUIRED = {"WORKER_B_DOCKER_HOST": "tcp://sandbox-2.internal:2376"}

REMOTE_WORKER_REQUIRED = {
    "STEPWELL_DATABASE_URL": "postgresql://stepwell:0123456789abcdef@10.0.0.5:5432/stepwell",
    "STEPWELL_TEMPORAL_ADDRESS": "10.0.0.5:7233",
    "STEPWELL_SECRET_KEY": REQUIRED["STEPWELL_SECRET_KEY"],
    "WORKER_DOCKER_HOST": "tcp://sandbox-3.internal:2376",
}
S3 = {
    "STEPWELL_BUNDLE_STORE": "s3",
    "STEPWELL_S3_BUCKET": "stepwell-bundles",
    "STEPWELL_S3_PREFIX": "prod/",
    "STEPWELL_S3_ENDPOINT_URL": "https://minio.internal:9000",
    "STEPWELL_S3_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret-example",
    "AWS_SESSION_TOKEN": "token-example",
}

Config = dict[str, Any]


def compose(
    *args: str, files: tuple[str, ...] = (BASE,), env: Mapping[str, str] = REQUIRED
) -> subprocess.CompletedProcess[str]:
    """Run docker-compose on the repository's files with exactly ``env`` (no .env, no shell)."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is missing: run 'make setup' (Debian's package)", pytrace=False)
    file_args = [arg for name in files for arg in ("-f", str(REPO / name))]
    # An empty env file, so a developer's .env in the checkout changes nothing here.
    with tempfile.NamedTemporaryFile(suffix=".env") as no_env_file:
        options = ["--project-directory", str(REPO), "--env-file", no_env_file.name]
        return subprocess.run(
            [binary, *options, *file_args, *args],
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def merged_config(*files: str, env: Mapping[str, str] = REQUIRED) -> Config:
    result = compose("config", files=files, env=env)
    assert result.returncode == 0, result.stderr
    loaded = yaml.safe_load(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def config() -> Config:
    return merged_config(BASE)


@pytest.fixture(scope="module")
def socket_config() -> Config:
    return merged_config(BASE, SOCKET, env={**REQUIRED, **SOCKET_REQUIRED})


@pytest.fixture(scope="module")
def second_host_config() -> Config:
    return merged_config(BASE, SECOND_HOST, env={**REQUIRED, **SECOND_HOST_REQUIRED})


def service(config: Config, name: str) -> Config:
    found = config["services"][name]
    assert isinstance(found, dict)
    return found


def environment(config: Config, name: str) -> dict[str, str]:
    return dict(service(config, name).get("environment") or {})


def mounts(config: Config, name: str) -> list[tuple[str, str, str]]:
    """(source, target, mode) of each volume of a service, from ``config``'s short syntax;
    an anonymous volume's source is ``""``."""
    found = []
    for volume in service(config, name).get("volumes") or []:
        parts = str(volume).split(":")
        if len(parts) == 1:
            found.append(("", parts[0], "rw"))
            continue
        source, target, *mode = parts
        found.append((source, target, mode[0] if mode else "rw"))
    return found


def command_text(config: Config, name: str) -> str:
    command = service(config, name).get("command") or []
    return command if isinstance(command, str) else " ".join(command)


# --- the files are valid -------------------------------------------------------------------------


def test_compose_file_is_valid_with_the_required_settings() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr
    assert "variable is not set" not in result.stderr


def test_socket_override_merges_into_a_valid_file() -> None:
    result = compose("config", "-q", files=(BASE, SOCKET), env={**REQUIRED, **SOCKET_REQUIRED})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("variable", sorted(REQUIRED))
def test_each_required_setting_missing_refuses_to_start(variable: str) -> None:
    env = {name: value for name, value in REQUIRED.items() if name != variable}
    result = compose("config", "-q", env=env)
    assert result.returncode != 0
    assert variable in result.stderr


def test_socket_override_needs_the_socket_group() -> None:
    result = compose("config", "-q", files=(BASE, SOCKET))
    assert result.returncode != 0
    assert "WORKER_DOCKER_GID" in result.stderr


# --- the platform's shape ------------------------------------------------------------------------


def test_the_platform_services_exist(config: Config) -> None:
    assert set(config["services"]) >= PLATFORM


def test_api_and_worker_share_database_and_secret_key(config: Config) -> None:
    api, worker = environment(config, "api"), environment(config, "worker")
    for variable in ("STEPWELL_DATABASE_URL", "STEPWELL_SECRET_KEY", "STEPWELL_MODE"):
        assert api[variable] == worker[variable], variable
    assert api["STEPWELL_SECRET_KEY"] == REQUIRED["STEPWELL_SECRET_KEY"]
    assert api["STEPWELL_MODE"] == "production"


def test_database_url_is_the_compose_postgres_with_its_password(config: Config) -> None:
    url = urlsplit(environment(config, "api")["STEPWELL_DATABASE_URL"])
    postgres = environment(config, "postgres")
    assert url.scheme == "postgresql"
    assert (url.hostname, url.port) == ("postgres", 5432)
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"] == REQUIRED["STEPWELL_POSTGRES_PASSWORD"]
    assert url.path == "/" + postgres["POSTGRES_DB"]


def test_temporal_is_backed_by_the_same_postgres(config: Config) -> None:
    temporal = environment(config, "temporal")
    assert temporal["DB"] == "postgres12"
    assert temporal["POSTGRES_SEEDS"] == "postgres"
    assert temporal["POSTGRES_PWD"] == REQUIRED["STEPWELL_POSTGRES_PASSWORD"]
    assert str(service(config, "temporal")["image"]).startswith("temporalio/auto-setup:")
    assert str(service(config, "temporal-ui")["image"]).startswith("temporalio/ui:")
    assert environment(config, "temporal-ui")["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_api_serves_on_all_interfaces_of_its_container_on_port_8000(config: Config) -> None:
    env = environment(config, "api")
    assert env["STEPWELL_API_HOST"] == "0.0.0.0"
    assert env["STEPWELL_API_PORT"] == "8000"
    assert env["STEPWELL_TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["STEPWELL_PUBLIC_URL"] == REQUIRED["STEPWELL_PUBLIC_URL"]
    assert command_text(config, "api") == "stepwell api"
    assert any(
        str(port).split("/")[0].endswith(":8000") for port in service(config, "api")["ports"]
    )


def test_worker_builds_the_base_image_then_polls(config: Config) -> None:
    text = command_text(config, "worker")
    assert text.index("stepwell images build") < text.index("stepwell worker")
    assert environment(config, "worker")["STEPWELL_TEMPORAL_ADDRESS"] == "temporal:7233"


def test_workers_can_be_scaled(config: Config) -> None:
    worker = service(config, "worker")
    assert "container_name" not in worker
    assert not worker.get("ports")


def test_api_and_workers_share_no_volume(config: Config) -> None:
    assert not mounts(config, "api"), "the API keeps nothing on disk"
    worker_sources = {source for source, _, _ in mounts(config, "worker")}
    assert not worker_sources & set(config.get("volumes") or {}), "a named volume is shared"


def test_each_worker_replica_has_its_own_home(config: Config) -> None:
    # STEPWELL_HOME is the image's /var/lib/stepwell: an anonymous volume there is one per
    # container, so `--scale worker=N` gives every replica its own cache
    home = [
        source for source, target, _ in mounts(config, "worker") if target == "/var/lib/stepwell"
    ]
    assert home == [""]
    assert "STEPWELL_HOME" not in environment(config, "worker")


def test_api_and_workers_use_the_same_bundle_store(config: Config) -> None:
    api, worker = environment(config, "api"), environment(config, "worker")
    assert api["STEPWELL_BUNDLE_STORE"] == worker["STEPWELL_BUNDLE_STORE"] == "database"


def test_workers_have_a_lease_and_a_janitor_period(config: Config) -> None:
    env = environment(config, "worker")
    lease, every = float(env["STEPWELL_WORKER_LEASE_S"]), float(env["STEPWELL_JANITOR_EVERY_S"])
    assert lease > 0 and every > 0


def test_the_api_sets_the_heartbeat_timeout_of_the_runs_it_starts(config: Config) -> None:
    # a dead worker's step is retried elsewhere after it: the API puts it into each run
    assert float(environment(config, "api")["STEPWELL_HEARTBEAT_TIMEOUT_S"]) > 0


def test_postgres_keeps_its_data_in_a_named_volume(config: Config) -> None:
    data = [
        s for s, target, _ in mounts(config, "postgres") if target == "/var/lib/postgresql/data"
    ]
    assert data
    assert data[0] in config["volumes"]


@pytest.mark.parametrize("name", ["postgres", "temporal", "api", "worker"])
def test_long_running_services_have_healthchecks(config: Config, name: str) -> None:
    assert service(config, name)["healthcheck"]["test"]


def test_api_healthcheck_asks_healthz(config: Config) -> None:
    assert "/healthz" in " ".join(service(config, "api")["healthcheck"]["test"])


@pytest.mark.parametrize("name", ["api", "worker"])
def test_stepwell_starts_after_its_dependencies_are_ready(config: Config, name: str) -> None:
    depends = service(config, name)["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["temporal-setup"]["condition"] == "service_completed_successfully"


def test_compose_registers_the_search_attributes_the_api_uses(config: Config) -> None:
    script = command_text(config, "temporal-setup")
    flags = search_attributes.dev_server_flags()
    definitions = flags[1::2]
    assert len(definitions) == len(search_attributes.ALL)
    for definition in definitions:
        assert definition in script


def test_every_stepwell_variable_is_a_real_setting(config: Config) -> None:
    fields = {f"STEPWELL_{name.upper()}" for name in Settings.model_fields}
    for name in ("api", "worker"):
        unknown = {key for key in environment(config, name) if key.startswith("STEPWELL_")}
        assert unknown - fields == set(), name


# --- more Docker hosts --------------------------------------------------------------------------


def test_second_host_override_needs_its_docker_host() -> None:
    result = compose("config", "-q", files=(BASE, SECOND_HOST))
    assert result.returncode != 0
    assert "WORKER_B_DOCKER_HOST" in result.stderr


def test_second_host_worker_is_the_worker_on_another_engine(second_host_config: Config) -> None:
    worker = dict(service(second_host_config, "worker"))
    worker_b = dict(service(second_host_config, "worker-b"))
    assert (
        environment(second_host_config, "worker-b")["DOCKER_HOST"]
        == (SECOND_HOST_REQUIRED["WORKER_B_DOCKER_HOST"])
    )
    certs = "/etc/stepwell/docker-certs"
    for definition in (worker, worker_b):
        definition["environment"] = {
            key: value for key, value in definition["environment"].items() if key != "DOCKER_HOST"
        }
        definition["volumes"] = sorted(
            volume for volume in definition["volumes"] if certs not in str(volume)
        )
    assert worker_b == worker
    sources = {
        source for name in ("worker", "worker-b") for source, target, _ in
        mounts(second_host_config, name) if target == certs
    }  # fmt: skip
    assert len(sources) == 2, "each engine has its own client certificate"


# --- the S3 bundle store, empty defaults, API replicas, remote workers --------------------------


def stepwell_services(config: Config) -> list[str]:
    return [name for name in config["services"] if name == "api" or name.startswith("worker")]


def settings_of(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings a process with exactly ``env``'s STEPWELL_ variables reads."""
    for key in [key for key in os.environ if key.startswith("STEPWELL_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings()


def test_s3_settings_and_credentials_reach_the_api_and_every_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    merged = merged_config(BASE, SECOND_HOST, env={**REQUIRED, **SECOND_HOST_REQUIRED, **S3})
    remote = merged_config(REMOTE_WORKER, env={**REMOTE_WORKER_REQUIRED, **S3})
    found = [(merged, name) for name in stepwell_services(merged)] + [(remote, "worker")]
    assert {name for _, name in found} == {"api", "worker", "worker-b"}
    for config, name in found:
        env = environment(config, name)
        assert {key: env.get(key) for key in S3} == S3, name
        settings = settings_of(env, monkeypatch)
        assert settings.bundle_store == "s3" and settings.s3_bucket == "stepwell-bundles"
        assert settings.s3_endpoint_url == S3["STEPWELL_S3_ENDPOINT_URL"]


@pytest.mark.parametrize("files", [(BASE, SECOND_HOST), (REMOTE_WORKER,)])
def test_every_optional_setting_left_empty_reads_as_not_set(
    files: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # compose passes optional settings as ${NAME:-}: the process sees NAME="" and must read
    # the default, not "" (an S3 endpoint "" would be a URL that does not parse)
    remote = files == (REMOTE_WORKER,)
    merged = merged_config(
        *files, env=REMOTE_WORKER_REQUIRED if remote else {**REQUIRED, **SECOND_HOST_REQUIRED}
    )
    defaults = settings_of({}, monkeypatch)
    for name in stepwell_services(merged):
        service_env = environment(merged, name)
        settings = settings_of(service_env, monkeypatch)
        empty = [k for k, v in service_env.items() if k.startswith("STEPWELL_") and v == ""]
        assert "STEPWELL_S3_ENDPOINT_URL" in empty, name
        for key in empty:
            field = key.removeprefix("STEPWELL_").lower()
            assert getattr(settings, field) == getattr(defaults, field), (name, key)
        assert settings.s3_endpoint_url is None and settings.s3_prefix == "bundles/"


def test_api_replicas_publish_a_port_range_for_a_proxy() -> None:
    # `--scale api=3` with one fixed host port clashes; a range gives each replica its own
    # port of it (docs/deployment.md, "Several API processes")
    env = {**REQUIRED, "STEPWELL_API_PUBLISH": "127.0.0.1:8000-8002"}
    ports = service(merged_config(BASE, env=env), "api")["ports"]
    assert [str(port).split("/")[0] for port in ports] == ["127.0.0.1:8000-8002:8000"]


def test_remote_worker_file_needs_the_main_machines_addresses() -> None:
    for variable in REMOTE_WORKER_REQUIRED:
        env = {k: v for k, v in REMOTE_WORKER_REQUIRED.items() if k != variable}
        result = compose("config", "-q", files=(REMOTE_WORKER,), env=env)
        assert result.returncode != 0 and variable in result.stderr, variable


def test_remote_worker_is_the_worker_pointed_elsewhere(config: Config) -> None:
    remote = merged_config(REMOTE_WORKER, env=REMOTE_WORKER_REQUIRED)
    assert set(remote["services"]) == {"worker"}
    env, local = environment(remote, "worker"), environment(config, "worker")
    assert env["STEPWELL_DATABASE_URL"] == REMOTE_WORKER_REQUIRED["STEPWELL_DATABASE_URL"]
    assert env["STEPWELL_TEMPORAL_ADDRESS"] == REMOTE_WORKER_REQUIRED["STEPWELL_TEMPORAL_ADDRESS"]
    # everything the main machine's workers get, the remote one gets too
    assert set(local) - {"STEPWELL_PUBLIC_URL", "STEPWELL_TEMPORAL_UI_URL"} <= set(env)
    assert env["DOCKER_TLS_VERIFY"] == "1" and not service(remote, "worker").get("ports")
    assert [target for _, target, _ in mounts(remote, "worker")] == [
        target for _, target, _ in mounts(config, "worker")
    ]


def test_private_override_publishes_database_and_temporal_on_one_address_only() -> None:
    refused = compose("config", "-q", files=(BASE, PRIVATE))
    assert refused.returncode != 0 and "STEPWELL_PRIVATE_IP" in refused.stderr
    merged = merged_config(BASE, PRIVATE, env={**REQUIRED, "STEPWELL_PRIVATE_IP": "10.0.0.5"})
    published = {
        name: [str(port).split("/")[0] for port in service(merged, name).get("ports") or []]
        for name in ("postgres", "temporal")
    }
    assert published == {"postgres": ["10.0.0.5:5432:5432"], "temporal": ["10.0.0.5:7233:7233"]}


# --- what faces the network ----------------------------------------------------------------------


def test_temporal_is_not_published(config: Config) -> None:
    assert not service(config, "temporal").get("ports")


@pytest.mark.parametrize("name", ["api", "temporal-ui"])
def test_published_ports_listen_on_loopback_by_default(config: Config, name: str) -> None:
    for port in service(config, name)["ports"]:
        assert str(port).startswith("127.0.0.1:"), port


# --- the Docker engine ---------------------------------------------------------------------------


def test_no_service_mounts_the_docker_socket_by_default(config: Config) -> None:
    for name in config["services"]:
        for source, target, _ in mounts(config, name):
            assert "docker.sock" not in source and "docker.sock" not in target, name
        assert not service(config, name).get("privileged"), name
        assert not environment(config, name).get("DOCKER_HOST", "").startswith("unix:"), name


def test_worker_reaches_a_docker_host_over_verified_tls(config: Config) -> None:
    env = environment(config, "worker")
    assert env["DOCKER_HOST"] == REQUIRED["WORKER_DOCKER_HOST"]
    assert env["DOCKER_TLS_VERIFY"] == "1"
    certs = [(target, mode) for _, target, mode in mounts(config, "worker")]
    assert (env["DOCKER_CERT_PATH"], "ro") in certs


def test_api_has_no_docker_access(config: Config) -> None:
    assert "DOCKER_HOST" not in environment(config, "api")


def test_socket_override_mounts_the_socket_into_the_worker_only(socket_config: Config) -> None:
    with_socket = {
        name
        for name in socket_config["services"]
        if any("docker.sock" in source for source, _, _ in mounts(socket_config, name))
    }
    assert with_socket == {"worker"}
    env = environment(socket_config, "worker")
    assert env["DOCKER_HOST"] == "unix:///var/run/docker.sock"
    # The docker SDK treats any non-empty DOCKER_TLS_VERIFY as "verify": it must be empty here.
    assert env["DOCKER_TLS_VERIFY"] == ""
    assert env["DOCKER_CERT_PATH"] == ""
    assert [str(group) for group in service(socket_config, "worker")["group_add"]] == ["998"]


def test_socket_override_takes_a_rootless_socket() -> None:
    rootless = "/run/user/1000/docker.sock"
    env = {**REQUIRED, **SOCKET_REQUIRED, "WORKER_DOCKER_SOCKET": rootless}
    merged = merged_config(BASE, SOCKET, env=env)
    assert (rootless, "/var/run/docker.sock") in {
        (source, target) for source, target, _ in mounts(merged, "worker")
    }


# --- the app image -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_image_is_based_on_python_311_slim(dockerfile: list[str]) -> None:
    stages = [line.split() for line in dockerfile if line.startswith("FROM ")]
    assert stages
    assert stages[-1][1] == "python:3.11-slim"
    # Python stages are python:3.11-slim; the console is built in a Node stage
    assert {stage[1] for stage in stages} == {"python:3.11-slim", "node:20-slim"}
    console = [stage for stage in stages if stage[1] == "node:20-slim"]
    assert console == [["FROM", "node:20-slim", "AS", "console"]]


def test_image_runs_as_a_non_root_user(dockerfile: list[str]) -> None:
    users = [line.split()[1] for line in dockerfile if line.startswith("USER ")]
    assert users
    assert users[-1] not in {"root", "0"}


def test_image_installs_the_package_without_editable_mode_or_dev_extras(
    dockerfile: list[str],
) -> None:
    installs = [line for line in dockerfile if "pip install" in line]
    assert installs
    for line in installs:
        assert " -e " not in line and "--editable" not in line
        assert "[dev]" not in line


def test_image_copies_every_package_the_project_installs(dockerfile: list[str]) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [
        name.rstrip("*") for name in project["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    copies = [line.split()[1:-1] for line in dockerfile if line.startswith("COPY ")]
    copied = {source for sources in copies if "--from" not in sources[0] for source in sources}
    assert {"pyproject.toml", "README.md", *packages} <= copied


def test_build_context_leaves_out_state_and_credentials() -> None:
    ignored = set((REPO / ".dockerignore").read_text().splitlines())
    assert {".git", ".venv", ".stepwell", ".env", "docker-certs", "tests"} <= ignored
