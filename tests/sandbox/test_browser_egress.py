"""A browser step's network is its egress rules: a page served from a declared host that pulls
anything from an undeclared one (images, iframes, fetch, WebSockets, redirects, DNS prefetching
and preconnects) gets it refused, and the proxy records the refusals. Asserted from the host: the
test servers' request logs, the test DNS server's query log and the proxy's records.

Two page servers on this host stand for two sites: ``declared`` (in the step's egress list) and
``undeclared`` (a reachable server the step did not declare); both are "public" for the proxy
(``egress_test_public``), so only the step's rules keep the browser from the second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import docker
import pytest

from sandbox.config import SandboxConfig
from sandbox.launcher import Sandbox
from tests.sandbox.browser_fixtures import browser_runner
from tests.sandbox.egress_dns import EgressDns
from tests.sandbox.egress_fixtures import EgressServers, RecordingGateway, start_gateway

pytestmark = pytest.mark.docker
PUBLIC = "public.stepwell.test"


class _Pages(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        server: _PageServer = self.server  # type: ignore[assignment]
        with server.lock:
            server.seen.append(self.path)
        _, kind, marker, *_rest = [*self.path.split("/"), "", ""]
        if kind == "redirect":
            self.send_response(302)
            self.send_header("Location", f"{server.elsewhere}/{marker}/redirected")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = (server.page(marker) if kind == "page" else f"<p>{self.path}</p>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _PageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("0.0.0.0", 0), _Pages)
        self.seen: list[str] = []
        self.lock = threading.Lock()
        self.elsewhere = ""  # the other site's origin, for pages and redirects

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def page(self, marker: str) -> str:
        other = f"{self.elsewhere}/{marker}"
        ws = other.replace("http://", "ws://")
        return f"""<!doctype html><title>declared page</title>
<link rel="dns-prefetch" href="//prefetch-{marker}.stepwell.test">
<link rel="preconnect" href="http://preconnect-{marker}.stepwell.test">
<link rel="prefetch" href="{other}/prefetch">
<img src="{other}/img">
<iframe src="{other}/iframe"></iframe>
<a href="http://anchor-{marker}.stepwell.test/">a link</a>
<script>
  window.attempts = [];
  fetch("{other}/fetch").catch((e) => window.attempts.push("fetch: " + e));
  const ws = new WebSocket("{ws}/ws");
  ws.onerror = () => window.attempts.push("websocket refused");
  ws.onopen = () => window.attempts.push("websocket OPEN");
</script>"""

    def matching(self, marker: str) -> list[str]:
        with self.lock:
            return [p for p in self.seen if marker in p]


@dataclass
class Sites:
    declared: _PageServer
    undeclared: _PageServer
    bridge: str

    def origin(self, server: _PageServer) -> str:
        return f"http://{PUBLIC}:{server.port}"


@pytest.fixture(scope="module")
def sites(egress_servers: EgressServers) -> Iterator[Sites]:
    declared, undeclared = _PageServer(), _PageServer()
    declared.elsewhere = f"http://{PUBLIC}:{undeclared.port}"
    undeclared.elsewhere = f"http://{PUBLIC}:{declared.port}"
    for server in (declared, undeclared):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Sites(declared, undeclared, egress_servers.bridge)
    for server in (declared, undeclared):
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser_gateway(
    docker_client: docker.DockerClient, egress_config: SandboxConfig, sites: Sites
) -> Iterator[tuple[SandboxConfig, RecordingGateway]]:
    pages = tuple(f"{sites.bridge}:{s.port}" for s in (sites.declared, sites.undeclared))
    config = replace(egress_config, egress_test_public=(*egress_config.egress_test_public, *pages))
    gateway = start_gateway(docker_client, config)
    yield config, gateway
    gateway.close()


@pytest.fixture
def browser_egress(
    docker_client: docker.DockerClient,
    browser_gateway: tuple[SandboxConfig, RecordingGateway],
    browser_image: str,
    run_id: str,
) -> Any:
    config, gateway = browser_gateway
    return browser_runner(Sandbox(docker_client, config, egress=gateway), run_id)


VISIT = """
from step_sdk.browser import browser

def main(page_url: str, redirect_url: str):
    with browser() as chromium:
        page = chromium.new_page()
        page.goto(page_url, wait_until="load")
        page.wait_for_load_state("networkidle")
        page.wait_for_function("window.attempts.length >= 2", timeout=15_000)
        seen = {"title": page.title(), "attempts": page.evaluate("window.attempts")}
        try:
            response = page.goto(redirect_url)
            # the proxy answers a refused plain-HTTP request itself (403)
            seen["redirect"] = f"{response.status if response else None} {page.url}"
        except Exception as exc:
            seen["redirect"] = f"refused: {str(exc)[:300]}"
        return seen
"""


def test_a_page_cannot_reach_an_undeclared_host_by_any_route(
    browser_egress: Any, sites: Sites, egress_dns: EgressDns, run_id: str
) -> None:
    declared = sites.origin(sites.declared)
    marker = run_id
    result = browser_egress(
        VISIT,
        {"page_url": f"{declared}/page/{marker}", "redirect_url": f"{declared}/redirect/{marker}"},
        egress=(f"{PUBLIC}:{sites.declared.port}",),
    )
    assert result.error is None, (result.error, result.logs[-3000:])
    seen = result.output
    assert seen["title"] == "declared page"
    assert "websocket refused" in seen["attempts"] and "websocket OPEN" not in seen["attempts"]
    assert any(a.startswith("fetch: ") for a in seen["attempts"]), seen["attempts"]
    assert seen["redirect"].startswith(("refused: ", "403 ")), seen
    # the host's view: the declared site served the page and the redirect, the undeclared
    # site saw nothing at all, and no name was looked up for the prefetch hints or the link
    assert f"/page/{marker}" in sites.declared.matching(marker)
    assert f"/redirect/{marker}" in sites.declared.matching(marker)
    assert sites.undeclared.matching(marker) == []
    for name in ("prefetch", "preconnect", "anchor"):
        assert egress_dns.queries(f"{name}-{marker}.stepwell.test") == 0, name
    # the proxy's records: the declared site allowed, every attempt at the other refused
    records = result.connections
    allowed = [(r["host"], r["port"]) for r in records if r["allowed"]]
    assert set(allowed) == {(PUBLIC, sites.declared.port)}, records
    refused = [r for r in records if not r["allowed"]]
    assert {(r["host"], r["port"]) for r in refused} == {(PUBLIC, sites.undeclared.port)}
    # the WebSocket goes through the proxy as a CONNECT, and is refused too
    assert any(r["method"] == "CONNECT" for r in refused), refused
    assert len(refused) >= 4  # img, iframe, fetch, WebSocket, redirect (some may be coalesced)


NO_EGRESS = """
from step_sdk.browser import browser

def main(url: str):
    with browser() as chromium:
        page = chromium.new_page()
        try:
            page.goto(url, timeout=10_000)
            return "loaded"
        except Exception as exc:
            return f"refused: {str(exc)[:300]}"
"""


def test_without_egress_a_browser_step_has_no_network(
    browser_egress: Any, sites: Sites, run_id: str
) -> None:
    url = f"http://{sites.bridge}:{sites.declared.port}/direct/{run_id}"
    result = browser_egress(NO_EGRESS, {"url": url})
    assert result.error is None, (result.error, result.logs[-3000:])
    assert result.output.startswith("refused: ")
    assert sites.declared.matching(run_id) == []
    assert result.connections == []
