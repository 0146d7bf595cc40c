"""The harness's own rules, without a browser: which requests count as leaving the stack's
origin, and how the API key in a URL or a CSP violation is reported."""

from __future__ import annotations

from tests.console.browser import BrowserLog

ORIGIN = "http://127.0.0.1:41234"


def test_requests_to_the_stacks_origin_and_local_urls_are_fine() -> None:
    log = BrowserLog(ORIGIN)
    log.requests += [
        f"{ORIGIN}/",
        f"{ORIGIN}/console/app.js",
        f"{ORIGIN}/v1/runs?limit=20",
        "data:image/svg+xml;base64,PHN2Zy8+",
        f"blob:{ORIGIN}/6f1c1e0e-7d35-4c1e-9d5e-0c4f0f3f3d2a",
    ]
    assert log.problems("sw_key") == []


def test_every_other_origin_is_an_offender() -> None:
    log = BrowserLog(ORIGIN)
    offenders = [
        "https://cdn.redoc.ly/redoc/logo-mini.svg",
        "http://127.0.0.1:41235/v1/runs",  # same host, another port
        "https://127.0.0.1:41234/",  # same host and port, another scheme
        "http://localhost:41234/",  # another name for the same address
        "ws://127.0.0.1:41234/socket",
    ]
    log.requests += [f"{ORIGIN}/", *offenders]
    assert log.foreign_requests() == offenders
    assert log.problems("sw_key") == [f"request to another origin: {url}" for url in offenders]


def test_the_key_in_a_url_and_csp_violations_are_reported() -> None:
    log = BrowserLog(ORIGIN)
    log.requests.append(f"{ORIGIN}/v1/runs?key=sw_secret")
    log.csp_violations.append("script-src blocked inline on /")
    assert log.problems("sw_secret") == [
        "CSP violation: script-src blocked inline on /",
        f"API key in a URL: {ORIGIN}/v1/runs?key=sw_secret",
    ]
