"""With an egress lease, everything the browser sends goes to the egress forwarder's address
(127.0.0.1:3128), where the proxy applies the step's rules (tests/sandbox/test_browser_egress.py
checks the enforcement end to end). Here the step stands in a recording proxy on that address (a
step without a lease has it free) and marks itself as leased, so what Chromium sends there, and
what it does not, is seen without the egress proxy: documents, images, iframes, fetch, redirects
and WebSockets all arrive as proxy requests; DNS prefetch hints never do."""

from __future__ import annotations

from tests.sandbox.browser_fixtures import RunBrowser

RECORDING_PROXY = r'''
import socketserver, threading, time
from step_sdk import browser as sdk_browser

SEEN = []
PAGE = b"""<!doctype html><title>routed</title>
<link rel="dns-prefetch" href="//prefetch.example">
<img src="http://img.example/x.png">
<iframe src="http://site.example/redirect"></iframe>
<script>
  fetch("http://fetch.example/data").catch(() => {});
  new WebSocket("ws://ws.example:8080/socket");
</script>"""

class Recorder(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline(4096).decode("latin-1").strip()
        while self.rfile.readline(4096) not in (b"\r\n", b"\n", b""):
            pass
        SEEN.append(line)
        if line.startswith("GET http://site.example/page "):
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
            reply = head % len(PAGE) + PAGE
        elif line.startswith("GET http://site.example/redirect "):
            reply = (b"HTTP/1.1 302 Found\r\nLocation: http://redirected.example/\r\n"
                     b"Content-Length: 0\r\n\r\n")
        else:
            reply = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        self.wfile.write(reply)

def main():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 3128), Recorder)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    open("/tmp/lease.sock", "w").close()
    sdk_browser.EGRESS_SOCKET = "/tmp/lease.sock"  # as if the host had mounted a lease
    with sdk_browser.browser() as chromium:
        page = chromium.new_page()
        page.goto("http://site.example/page")
        deadline = time.monotonic() + 15
        expected = ("img.example", "redirected.example", "fetch.example", "ws.example")
        while time.monotonic() < deadline and not all(
            any(name in line for line in SEEN) for name in expected
        ):
            page.wait_for_timeout(100)  # polling the recorder, with a deadline
    server.shutdown()
    return SEEN
'''


def test_every_request_of_the_browser_goes_to_the_egress_proxy(run_browser: RunBrowser) -> None:
    result = run_browser(RECORDING_PROXY, timeout_s=40)
    assert result.error is None, (result.error, result.logs[-3000:])
    seen = result.output
    requests = " | ".join(seen)
    for expected in (
        "GET http://site.example/page ",
        "GET http://img.example/x.png ",
        "GET http://site.example/redirect ",
        "GET http://redirected.example/ ",
        "GET http://fetch.example/data ",
        "CONNECT ws.example:8080 ",  # Chromium tunnels every WebSocket through the proxy
    ):
        assert any(line.startswith(expected) for line in seen), (expected, requests)
    assert "prefetch.example" not in requests
