"""``stepwell step push DIR`` against a real API server (uvicorn on a free port, real database)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from temporalio.testing import WorkflowEnvironment

from step_sdk.bundle import read_bundle
from stepwell.api_client import API_KEY_ENV, API_URL_ENV, describe_error
from stepwell_settings import Settings
from tests.api.helpers import new_workspace
from tests.cli.conftest import Invoke, WriteStep
from ui_api.app import create_app
from ui_api.services import Services, build_services

SMALL_LIMIT_KB = 16

ECHO = """
from step_sdk import step

@step(name="cli.echo", version="1.0.0", title="Echo")
def echo(text: str) -> dict:
    return {{"text": text{suffix}}}
"""


@dataclass(frozen=True)
class RunningApi:
    url: str
    key: str
    services: Services


@pytest.fixture(scope="module")
def running_api(
    temporal: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApi]:
    """The API served by uvicorn in a background thread, with a small bundle limit."""
    settings = Settings(home=tmp_path_factory.mktemp("push-api"), bundle_max_kb=SMALL_LIMIT_KB)
    services = build_services(settings, temporal.client)
    workspace = new_workspace(services)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(create_app(services), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield RunningApi(f"http://127.0.0.1:{port}", workspace.key, services)
    server.should_exit = True
    thread.join(timeout=20)
    listener.close()
    services.engine.dispose()


@pytest.fixture
def no_api_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_URL_ENV, raising=False)
    monkeypatch.delenv(API_KEY_ENV, raising=False)


def echo_step(write_step: WriteStep, suffix: str = "") -> Path:
    return write_step(ECHO.format(suffix=suffix))


def stored_versions(api: RunningApi, name: str) -> list[dict[str, object]]:
    answer = httpx.get(
        f"{api.url}/v1/steps/{name}/versions", headers={"Authorization": f"Bearer {api.key}"}
    )
    return list(answer.json().get("items", []))


@pytest.mark.usefixtures("no_api_env")
def test_push_builds_uploads_and_prints_the_digest(
    cli: Invoke, write_step: WriteStep, running_api: RunningApi, tmp_path: Path
) -> None:
    directory = echo_step(write_step)
    result = cli("step", "push", str(directory), "--api", running_api.url, "--key", running_api.key)
    assert result.exit_code == 0, result.output
    built = cli("step", "build", str(directory), "-o", str(tmp_path / "b.tgz"))
    digest = read_bundle((tmp_path / "b.tgz").read_bytes()).digest
    assert built.output.strip().endswith(digest)
    assert result.output.strip() == f"pushed cli.echo@1.0.0 ({digest})"
    assert [v["digest"] for v in stored_versions(running_api, "cli.echo")] == [digest]

    again = cli("step", "push", str(directory), "--api", running_api.url, "--key", running_api.key)
    assert again.exit_code == 0, again.output
    assert again.output.startswith(f"pushed cli.echo@1.0.0 ({digest}), unchanged")


@pytest.mark.usefixtures("no_api_env")
def test_push_reads_the_api_and_key_from_the_environment_and_prints_json(
    cli: Invoke, write_step: WriteStep, running_api: RunningApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_URL_ENV, running_api.url)
    monkeypatch.setenv(API_KEY_ENV, running_api.key)
    directory = write_step(ECHO.format(suffix="").replace("cli.echo", "cli.env"))
    result = cli("step", "push", str(directory), "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["ref"] == "cli.env@1.0.0"
    assert answer["input_schema"]["required"] == ["text"]


@pytest.mark.usefixtures("no_api_env")
def test_a_changed_step_under_a_pushed_version_is_one_error_line(
    cli: Invoke, write_step: WriteStep, running_api: RunningApi
) -> None:
    first = echo_step(write_step, suffix="")
    changed = echo_step(write_step, suffix=" + '!'")
    args = ("--api", running_api.url, "--key", running_api.key)
    cli("step", "push", str(first), *args)
    result = cli("step", "push", str(changed), *args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cli.echo@1.0.0 is already pushed")
    assert "(HTTP 409)" in lines[0]


@pytest.mark.usefixtures("no_api_env")
def test_a_refused_bundle_names_the_limit(
    cli: Invoke, write_step: WriteStep, running_api: RunningApi
) -> None:
    directory = write_step(ECHO.format(suffix="").replace("cli.echo", "cli.big"))
    # Well over the limit, so the server refuses it on its Content-Length without reading it.
    (directory / "data.bin").write_bytes(os.urandom(SMALL_LIMIT_KB * 1024 * 12))
    result = cli("step", "push", str(directory), "--api", running_api.url, "--key", running_api.key)
    assert result.exit_code == 1
    assert f"the limit for 'bundle' is {SMALL_LIMIT_KB} KiB (HTTP 413)" in result.output
    assert stored_versions(running_api, "cli.big") == []


@pytest.mark.usefixtures("no_api_env")
def test_a_wrong_key_is_an_api_error(
    cli: Invoke, write_step: WriteStep, running_api: RunningApi
) -> None:
    directory = echo_step(write_step)
    result = cli("step", "push", str(directory), "--api", running_api.url, "--key", "sw_wrong")
    assert result.exit_code == 1
    assert "error: invalid or revoked API key (HTTP 401)" in result.output
    assert "sw_wrong" not in result.output


@pytest.mark.usefixtures("no_api_env")
def test_an_unreachable_api_says_where_it_looked(
    cli: Invoke, write_step: WriteStep, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = cli("step", "push", str(echo_step(write_step)), "--api", closed, "--key", "sw_x")
    assert result.exit_code == 1
    assert f"cannot reach the Stepwell API at {closed}" in result.output


@pytest.mark.usefixtures("no_api_env")
@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(("--api", "http://127.0.0.1:9"), "no API key", id="no-key"),
        pytest.param(("--api", "localhost:8000", "--key", "sw_x"), "not an http", id="bad-url"),
        pytest.param(("--key", "sw_x\nX-Evil: 1"), "cannot be sent", id="key-with-newline"),
    ],
)
def test_usage_errors_exit_2(
    cli: Invoke, write_step: WriteStep, args: tuple[str, ...], words: str
) -> None:
    result = cli("step", "push", str(echo_step(write_step)), *args)
    assert result.exit_code == 2
    assert words in result.output


@pytest.mark.usefixtures("no_api_env")
def test_a_broken_step_is_a_usage_error_before_any_request(
    cli: Invoke, write_step: WriteStep, tmp_path: Path
) -> None:
    plain = write_step("def plain(text: str) -> str:\n    return text\n")
    offline = ("--api", "http://127.0.0.1:9", "--key", "sw_x")
    result = cli("step", "push", str(plain), *offline)
    assert result.exit_code == 2 and "no @step function found" in result.output
    missing = cli("step", "push", str(tmp_path / "nowhere"), *offline)
    assert missing.exit_code == 2 and "not a directory" in missing.output


def test_errors_that_are_not_the_api_shape_are_still_one_line() -> None:
    request = httpx.Request("POST", "http://proxy.example/v1/steps")
    html = httpx.Response(502, text="<html>\n<b>Bad gateway</b>\n</html>", request=request)
    assert describe_error(html) == (
        "HTTP 502 from http://proxy.example/v1/steps: <html> <b>Bad gateway</b> </html>"
    )
    shaped = httpx.Response(
        422,
        json={
            "error": {
                "code": "invalid",
                "message": "the bundle's stepwell.json is invalid",
                "details": [{"pointer": "/manifest/name", "message": "is not\na step name"}],
            }
        },
        request=request,
    )
    assert describe_error(shaped) == (
        "the bundle's stepwell.json is invalid (HTTP 422) [/manifest/name: is not a step name]"
    )


def test_an_unavailable_api_says_when_to_retry() -> None:
    request = httpx.Request("POST", "http://api.example/v1/steps")
    answer = httpx.Response(
        503,
        headers={"Retry-After": "5"},
        json={"error": {"code": "unavailable", "message": "Temporal is down", "details": []}},
        request=request,
    )
    assert describe_error(answer) == "Temporal is down (HTTP 503); retry in 5 s"


def test_any_host_under_the_declared_setting_names_the_pointer_and_the_setting(
    cli: Invoke, write_step: WriteStep, running_api: RunningApi
) -> None:
    directory = write_step(
        "from step_sdk import step\n\n"
        "@step(name='cli.anyhost', version='1.0.0', egress=['*'])\n"
        "def call(text: str) -> str:\n    return text\n"
    )
    result = cli("step", "push", str(directory), "--api", running_api.url, "--key", running_api.key)
    assert result.exit_code == 1, result.output
    line = " ".join(result.output.split())
    assert "/manifest/egress/0" in line and "allows only explicit hosts" in line
    assert "STEPWELL_EGRESS=any-public" in line


@pytest.mark.usefixtures("no_api_env")
def test_push_sends_a_javascript_step_as_a_node20_bundle(
    cli: Invoke, running_api: RunningApi, tmp_path: Path
) -> None:
    directory = tmp_path / "js-shout"
    assert cli("step", "new", "cli.js_shout", str(directory), "--lang", "js").exit_code == 0
    args = ("--api", running_api.url, "--key", running_api.key, "--json")
    result = cli("step", "push", str(directory), *args)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert (answer["ref"], answer["runtime"], answer["entrypoint"]) == (
        "cli.js_shout@0.1.0",
        "node20",
        "step.mjs",
    )
    assert [v["runtime"] for v in stored_versions(running_api, "cli.js_shout")] == ["node20"]
