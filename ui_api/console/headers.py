"""Security headers on every response: a Content-Security-Policy with no inline script and no
origin but our own, no MIME sniffing, no referrer, no framing."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The policy of every response. The console, /docs and the API's own answers need nothing else:
# scripts and styles come from files under /console/, requests go to /v1 on the same origin.
POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}

# Two pages relax one directive each.
# - /redoc: Redoc renders with styled-components, which writes its CSS into <style> elements at
#   run time: without 'unsafe-inline' the page has no styles at all. Inline *styles* cannot run
#   code; script-src stays 'self' on every page. (Redoc's search would also need worker-src
#   blob: for its Web Worker; console/public/redoc.js turns search off.)
# - / (the console): a run's image artifacts are shown as thumbnails. Their download needs the
#   API key in the Authorization header, which an <img src> cannot send, so the console fetches
#   the bytes and shows them from a blob: URL it made itself (console/src/api/artifacts.ts),
#   only for PNG, JPEG, GIF and WebP. img-src blob: lets images load from such URLs and nothing
#   else: an image cannot run script (not even an SVG one, which the console never shows), and
#   script-src, connect-src, frame-src (default-src) and object-src still refuse blob:.
RELAXED: dict[str, dict[str, str]] = {
    "/redoc": {"style-src": "'self' 'unsafe-inline'"},
    "/": {"img-src": "'self' data: blob:"},
}


def content_security_policy(path: str) -> str:
    """The ``Content-Security-Policy`` header value for a request path."""
    policy = {**POLICY, **RELAXED.get(path, {})}
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class SecurityHeaders:
    """ASGI middleware setting the security headers on every HTTP response.

    A plain ASGI middleware (it only rewrites the response start), placed outside Starlette's
    error middleware so that a 500 answer carries the headers too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        policy = content_security_policy(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "Content-Security-Policy" in headers:
                    # a route's own policy (an artifact's sandbox) stays: both are enforced
                    headers.append("Content-Security-Policy", policy)
                else:
                    headers["Content-Security-Policy"] = policy
                for name, value in STATIC_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self._app(scope, receive, with_headers)
