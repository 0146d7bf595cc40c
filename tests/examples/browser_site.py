"""A small web site on this host for the browser examples (``web.screenshot``, ``web.form``) and
the page-watch flow: no internet, and a log of every request it received, so tests assert what
the host observed.

Pages (``<marker>`` is a test's unique string):

* ``GET /page/<marker>``: title ``Quarterly report <marker>``, a red band 200 px tall over a
  white page, and links (relative, absolute, a duplicate, a ``mailto:`` and a ``javascript:``);
* ``GET /form/<marker>``: a form with the labelled fields ``Name`` and ``Email`` and the button
  ``Send``, posting to ``/submit/<marker>``;
* ``POST /submit/<marker>``: ``<p id="thanks" role="status">Thanks, <name>! We will write to
  <email>.</p>`` from the posted fields (HTML-escaped);
* ``POST /hook/<marker>``: a chat webhook, answering ``ok``.

The server listens on ``0.0.0.0``; steps reach it through the egress proxy as
``public.stepwell.test:<port>`` once the sandbox config lists ``<bridge>:<port>`` in
``egress_test_public`` (``site_config``).
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from sandbox.config import SandboxConfig

PUBLIC = "public.stepwell.test"
TITLE = "Quarterly report {marker}"


@dataclass
class Request:
    """One request as the site received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def page(marker: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><title>{TITLE.format(marker=marker)}</title>
<style>
  body {{ margin: 0; background: #fff; }}
  .band {{ height: 200px; background: #d01e28; }}
</style>
</head><body>
<div class="band"></div>
<h1>Report</h1>
<a href="/about">About   us</a>
<a href="https://docs.stepwell.test/guide?x=1">The guide</a>
<a href="/about">About again</a>
<a href="mailto:team@stepwell.test">Mail</a>
<a href="javascript:void(0)">Nothing</a>
<a href="/empty" aria-label="Empty link"></a>
</body></html>"""


def form(marker: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><title>Contact {marker}</title></head><body>
<form method="post" action="/submit/{marker}">
  <label for="n">Name</label> <input id="n" name="name">
  <label>Email <input name="email" type="email"></label>
  <button type="submit">Send</button>
</form>
</body></html>"""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, body: str, status: int = 200) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server: Site = self.server  # type: ignore[assignment]
        with server.lock:
            server.log.append(Request(self.command, self.path, dict(self.headers.items()), body))
        return body

    def do_GET(self) -> None:
        self._record()
        _, kind, marker, *_rest = [*self.path.split("/"), "", ""]
        if kind == "page":
            self._reply(page(marker))
        elif kind == "form":
            self._reply(form(marker))
        else:
            self._reply(f"<title>{html.escape(self.path)}</title>", 404)

    def do_POST(self) -> None:
        body = self._record()
        _, kind, marker, *_rest = [*self.path.split("/"), "", ""]
        if kind == "submit":
            fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            name = html.escape(fields.get("name", ""))
            email = html.escape(fields.get("email", ""))
            self._reply(
                f"<title>Sent {marker}</title><p id='thanks' role='status'>Thanks, {name}! "
                f"We will write to {email}.</p>"
            )
        elif kind == "hook":
            self._reply("ok")
        else:
            self._reply("no such form", 404)


class Site(ThreadingHTTPServer):
    """The running site and what it received (``log``, guarded by ``lock``)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("0.0.0.0", 0), _Handler)
        self.log: list[Request] = []
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def host(self) -> str:
        """What a step's egress lists and its URLs name: ``public.stepwell.test:<port>``."""
        return f"{PUBLIC}:{self.port}"

    def seen(self, marker: str) -> list[Request]:
        with self.lock:
            return [r for r in self.log if marker in r.path]


@contextmanager
def running_site() -> Iterator[Site]:
    """The site, served from a thread until the block ends."""
    site = Site()
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.shutdown()
        site.server_close()


def site_config(egress_config: SandboxConfig, bridge: str, site: Site) -> SandboxConfig:
    """``egress_config`` with the site's port treated as a public address by the proxy."""
    public = (*egress_config.egress_test_public, f"{bridge}:{site.port}")
    return replace(egress_config, egress_test_public=public)
