"""The browser examples (``web.screenshot``, ``web.form``) in the real sandbox, in the
``python3.11-browser`` image, through the real egress proxy, against a local site
(``tests/examples/browser_site``; no internet).

Their published manifests may reach any public host (``*``, ``*:80``), which no test can; each
test rebuilds the example with ``egress`` naming the local site instead (the code unchanged).
"""

from __future__ import annotations

import shutil
import struct
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import docker
import pytest

from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope, StepContext
from sandbox.errors import ErrorType
from sandbox.launcher import Sandbox
from sandbox.result import StepResult
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import MANIFEST_FILE
from step_sdk.project import build_directory
from step_sdk.runtimes import PYTHON_BROWSER
from tests.examples.browser_site import TITLE, Site, running_site, site_config
from tests.sandbox.browser_fixtures import browser_image  # noqa: F401 - a fixture
from tests.sandbox.egress_fixtures import EgressServers, start_gateway

pytestmark = pytest.mark.docker

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "steps"


@pytest.fixture(autouse=True)
def _forget_step_module() -> Iterator[None]:
    yield
    sys.modules.pop("step", None)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with running_site() as served:
        yield served


@pytest.fixture(scope="module")
def site_sandbox(
    docker_client: docker.DockerClient,
    egress_config: SandboxConfig,
    egress_servers: EgressServers,
    site: Site,
    browser_image: str,  # noqa: F811 - the fixture imported above
) -> Iterator[Sandbox]:
    """A sandbox whose egress proxy treats the site as a public host."""
    config = site_config(egress_config, egress_servers.bridge, site)
    gateway = start_gateway(docker_client, config)
    yield Sandbox(docker_client, config, egress=gateway)
    gateway.close()


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


def run(sandbox: Sandbox, bundle: Bundle, payload: Any) -> StepResult:
    context = StepContext(run_id=f"examples-{uuid.uuid4().hex[:8]}", step_id="web")
    return sandbox.run(bundle, Envelope(input=payload, context=context))


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", data[:16]
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_published_manifests_run_in_the_browser_image(tmp_path: Path) -> None:
    for name in ("web_screenshot", "web_form"):
        manifest = example(name, tmp_path / name).manifest
        assert manifest.runtime == PYTHON_BROWSER, name
        assert manifest.egress == ("*", "*:80"), name


def test_web_screenshot_returns_the_title_and_links_and_saves_the_screenshot(
    site_sandbox: Sandbox, site: Site, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex
    bundle = example("web_screenshot", tmp_path, egress=(site.host,))
    url = f"http://{site.host}/page/{marker}"
    result = run(site_sandbox, bundle, {"url": url, "width": 800, "height": 600})
    assert result.error is None, (result.error, result.logs[-3000:])
    origin = f"http://{site.host}"
    assert result.output == {
        "url": url,
        "status": 200,
        "title": TITLE.format(marker=marker),
        # absolute, in document order, each once; mailto: and javascript: dropped
        "links": [
            {"href": f"{origin}/about", "text": "About us"},
            {"href": "https://docs.stepwell.test/guide?x=1", "text": "The guide"},
            {"href": f"{origin}/empty", "text": "Empty link"},
        ],
        "links_total": 3,
        "screenshot": "page.png",
        "screenshot_bytes": len(result.artifacts[0].data),
    }
    [shot] = result.artifacts
    assert (shot.name, shot.content_type) == ("page.png", "image/png")
    assert png_size(shot.data) == (800, 600)
    # the host's view: the site served the page once; listing a link fetched nothing
    assert [(r.method, r.path) for r in site.seen(marker)] == [("GET", f"/page/{marker}")]
    # only the site was reached (Debian's Chromium also tries its update hosts, which the
    # proxy refuses: they are in the refused records, if anywhere)
    allowed = {(c["host"], c["port"]) for c in result.connections if c["allowed"]}
    assert allowed == {("public.stepwell.test", site.port)}, result.connections


def test_web_screenshot_of_a_host_it_may_not_reach_is_an_error(
    site_sandbox: Sandbox, site: Site, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex
    # declared: another port than the site's, so the site itself is refused
    bundle = example("web_screenshot", tmp_path, egress=("public.stepwell.test:1",))
    url = f"http://{site.host}/page/{marker}"
    result = run(site_sandbox, bundle, {"url": url})
    assert result.error is not None and result.error.type == ErrorType.STEP, result
    assert result.error.message == (
        f"ConnectionError: {url}: stepwell egress proxy: public.stepwell.test port {site.port} "
        "is not in this step's egress list"
    )
    assert site.seen(marker) == []
    assert not any(c["allowed"] for c in result.connections), result.connections
    assert ("public.stepwell.test", site.port) in {
        (c["host"], c["port"]) for c in result.connections
    }


def test_web_form_fills_the_form_and_returns_the_confirmation(
    site_sandbox: Sandbox, site: Site, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex
    bundle = example("web_form", tmp_path, egress=(site.host,))
    payload = {
        "url": f"http://{site.host}/form/{marker}",
        "fields": {"Name": "Ada <Lovelace>", "Email": "ada@stepwell.test"},
        "submit": "Send",
        "confirmation": "#thanks",
    }
    result = run(site_sandbox, bundle, payload)
    assert result.error is None, (result.error, result.logs[-3000:])
    assert result.output == {
        "url": f"http://{site.host}/submit/{marker}",
        "title": f"Sent {marker}",
        "confirmation": "Thanks, Ada <Lovelace>! We will write to ada@stepwell.test.",
    }
    [shot] = result.artifacts
    assert shot.name == "confirmation.png" and png_size(shot.data) == (1280, 720)
    # the host's view: the form was fetched, then posted with what the step typed
    get, post = site.seen(marker)
    assert (get.method, get.path) == ("GET", f"/form/{marker}")
    assert (post.method, post.path) == ("POST", f"/submit/{marker}")
    assert parse_qs(post.body.decode()) == {
        "name": ["Ada <Lovelace>"],
        "email": ["ada@stepwell.test"],
    }


def test_web_form_names_a_field_that_is_not_on_the_page(
    site_sandbox: Sandbox, site: Site, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex
    bundle = example("web_form", tmp_path, egress=(site.host,))
    payload = {"url": f"http://{site.host}/form/{marker}", "fields": {"Phone": "123"}}
    result = run(site_sandbox, bundle, payload)
    assert result.error is not None and result.error.type == ErrorType.STEP, result
    assert result.error.message == "ValueError: fields: 0 form fields are labelled 'Phone'"
    assert [r.method for r in site.seen(marker)] == ["GET"]  # nothing was posted
