"""The example steps that call the network (``http.request``, ``chat.notify``), in the real sandbox
through the real egress proxy, against the local test servers of ``tests/sandbox/egress_fixtures``.

Their published manifests name hosts on the internet (``*``, ``hooks.slack.com``), which no test
can reach; each test rebuilds the example with ``egress`` naming the local test server instead
(the code and everything else unchanged), except where the point is the published list itself.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.envelope import Envelope, StepContext
from sandbox.errors import ErrorType
from sandbox.launcher import Sandbox
from sandbox.result import StepResult
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import MANIFEST_FILE
from step_sdk.project import build_directory
from tests.sandbox.egress_fixtures import EgressServers

pytestmark = pytest.mark.docker

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "steps"
WEBHOOK_SECRET = "CHAT_WEBHOOK_URL"


@pytest.fixture(autouse=True)
def _forget_step_module() -> Iterator[None]:
    yield
    sys.modules.pop("step", None)


def example(name: str, tmp_path: Path, egress: tuple[str, ...] | None = None) -> Bundle:
    """The example ``name`` built from a copy; with ``egress``, that list replaces its own."""
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target)
    bundle = build_directory(target)
    if egress is None:
        return bundle
    manifest = bundle.manifest.model_copy(update={"egress": egress})
    files = {path: data for path, data in bundle.files.items() if path != MANIFEST_FILE}
    return build_bundle(manifest, files)


def run(
    sandbox: Sandbox, bundle: Bundle, payload: Any, secrets: dict[str, str] | None = None
) -> StepResult:
    context = StepContext(run_id=f"examples-{uuid.uuid4().hex[:8]}", step_id="net")
    return sandbox.run(bundle, Envelope(input=payload, secrets=secrets or {}, context=context))


def test_the_published_manifests_declare_what_the_readmes_say(tmp_path: Path) -> None:
    assert example("http_request", tmp_path).manifest.egress == ("*", "*:80")
    chat = example("chat_webhook", tmp_path / "chat").manifest
    assert chat.egress == ("hooks.slack.com",)
    assert chat.secrets == (WEBHOOK_SECRET,)


def test_http_request_get_and_post_through_the_proxy(
    egress_sandbox: Sandbox, egress_servers: EgressServers, tmp_path: Path
) -> None:
    https = f"public.stepwell.test:{egress_servers.https_port}"
    http = f"public.stepwell.test:{egress_servers.http_port}"
    bundle = example("http_request", tmp_path, egress=(https, http))
    marker = uuid.uuid4().hex

    got = run(
        egress_sandbox,
        bundle,
        {"url": f"https://{https}/get-{marker}", "verify_tls": False, "headers": {"X-M": marker}},
    )
    assert got.error is None, (got.error, got.logs)
    assert got.output["status"] == 200
    assert got.output["text"] == f"public-https GET /get-{marker} body=0"
    posted = run(
        egress_sandbox,
        bundle,
        {"url": f"http://{http}/post-{marker}", "method": "POST", "json_body": {"n": 1}},
    )
    assert posted.error is None, (posted.error, posted.logs)
    assert posted.output["text"] == f"public-http POST /post-{marker} body=8"

    # what the host observed: both requests arrived as sent, and both connections are recorded
    [seen_get] = egress_servers.log.matching(f"get-{marker}")
    assert {k.lower(): v for k, v in seen_get.headers.items()}["x-m"] == marker
    [seen_post] = egress_servers.log.matching(f"post-{marker}")
    assert json.loads(seen_post.body) == {"n": 1}
    sent_headers = {name.lower(): value for name, value in seen_post.headers.items()}
    assert sent_headers["content-type"] == "application/json"
    [tunnel] = got.connections
    assert (tunnel["method"], tunnel["port"], tunnel["allowed"]) == (
        "CONNECT",
        egress_servers.https_port,
        True,
    )
    assert tunnel["address"] == egress_servers.bridge and tunnel["bytes_in"] > 0
    [forward] = posted.connections
    assert (forward["method"], forward["host"], forward["allowed"]) == (
        "POST",
        "public.stepwell.test",
        True,
    )


def test_http_request_refused_host_is_an_error_and_recorded(
    egress_sandbox: Sandbox, egress_servers: EgressServers, tmp_path: Path
) -> None:
    allowed = f"public.stepwell.test:{egress_servers.http_port}"
    bundle = example("http_request", tmp_path, egress=(allowed,))
    marker = uuid.uuid4().hex
    url = f"https://public.stepwell.test:{egress_servers.https_port}/{marker}"
    result = run(egress_sandbox, bundle, {"url": url, "verify_tls": False})
    assert result.error is not None and result.error.type == ErrorType.STEP, result
    assert result.error.message.startswith(f"ConnectionError: GET {url}: "), result.error
    assert "403" in result.error.message, result.error
    assert egress_servers.log.matching(marker) == []
    [record] = result.connections
    assert record["allowed"] is False and record["port"] == egress_servers.https_port


def test_chat_notify_posts_the_message_to_the_secret_url(
    egress_sandbox: Sandbox, egress_servers: EgressServers, tmp_path: Path
) -> None:
    host = f"public.stepwell.test:{egress_servers.http_port}"
    bundle = example("chat_webhook", tmp_path, egress=(host,))
    marker = uuid.uuid4().hex
    url = f"http://{host}/services/T000/B000/{marker}"
    result = run(
        egress_sandbox,
        bundle,
        {"text": "Hot lead: ACME", "username": "Stepwell"},
        {WEBHOOK_SECRET: url},
    )
    assert result.error is None, (result.error, result.logs)
    assert result.output["ok"] is True and result.output["status"] == 200
    [seen] = egress_servers.log.matching(marker)
    assert seen.method == "POST"
    assert json.loads(seen.body) == {"text": "Hot lead: ACME", "username": "Stepwell"}
    assert [c["allowed"] for c in result.connections] == [True]


def test_chat_notify_as_published_cannot_post_anywhere_but_slack(
    egress_sandbox: Sandbox, egress_servers: EgressServers, tmp_path: Path
) -> None:
    """A webhook URL on another host (a mistake, or a secret pointed somewhere on purpose) is
    refused by the proxy: the example's own egress list is what holds."""
    bundle = example("chat_webhook", tmp_path)
    marker = uuid.uuid4().hex
    url = f"https://public.stepwell.test:{egress_servers.https_port}/{marker}"
    result = run(egress_sandbox, bundle, {"text": "hi"}, {WEBHOOK_SECRET: url})
    assert result.error is not None and result.error.type == ErrorType.STEP, result
    assert "ConnectionError: posting to public.stepwell.test" in result.error.message
    assert marker not in result.error.message  # the secret URL's path is not repeated
    assert egress_servers.log.matching(marker) == []
    [record] = result.connections
    assert record["allowed"] is False and record["host"] == "public.stepwell.test"
