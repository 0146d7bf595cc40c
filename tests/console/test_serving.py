"""How the API process serves the console and the reference pages, in-process (no browser):
security headers on every answer, the exact CSP, 503 before the console is built, caching,
HEAD, content types, and /docs and /redoc pages with no inline script and no external URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from temporalio.client import Client

from stepwell_settings import Settings
from ui_api.app import create_app
from ui_api.console import STATIC
from ui_api.services import Services, build_services

PAGES = ["/", "/docs", "/redoc"]
POLICY = {
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
# The console's page alone shows images from blob: URLs (a run's artifact thumbnails).
CONSOLE_POLICY = {**POLICY, "img-src": "'self' data: blob:"}


@pytest_asyncio.fixture(scope="module")
async def services(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Services]:
    # A real Temporal client that connects on first use: nothing here calls Temporal.
    temporal = await Client.connect("127.0.0.1:1", lazy=True)
    built = build_services(Settings(home=tmp_path_factory.mktemp("home")), temporal)
    yield built
    built.engine.dispose()


@pytest.fixture(scope="module")
def built_console() -> Path:
    if not (STATIC / "index.html").is_file():
        pytest.fail(f"the console is not built in {STATIC}: run 'make console'", pytrace=False)
    return STATIC


async def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://stepwell.test")


@pytest_asyncio.fixture
async def http(services: Services, built_console: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(create_app(services, console=built_console)) as client:
        yield client


@pytest_asyncio.fixture
async def unbuilt(services: Services, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(create_app(services, console=tmp_path / "static")) as client:
        yield client


def _policy(response: httpx.Response) -> dict[str, str]:
    header = response.headers["content-security-policy"]
    directives = [part.strip().split(" ", 1) for part in header.split(";")]
    return {name: sources for name, sources in directives}


def _assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in response.headers


@pytest.mark.parametrize(
    "path",
    ["/", "/docs", "/console/app.js", "/console/vendor/swagger-ui/swagger-ui.css",
     "/v1/openapi.json", "/v1/flows", "/no/such/page", "/console/no-such-file.js"],
)  # fmt: skip
async def test_every_answer_carries_the_security_headers(
    http: httpx.AsyncClient, path: str
) -> None:
    response = await http.get(path)
    _assert_security_headers(response)
    assert _policy(response) == (CONSOLE_POLICY if path == "/" else POLICY)


async def test_the_policy_has_exactly_the_agreed_directives(http: httpx.AsyncClient) -> None:
    header = (await http.get("/docs")).headers["content-security-policy"]
    assert header == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )


async def test_only_redoc_may_use_inline_styles_and_no_page_inline_script(
    http: httpx.AsyncClient,
) -> None:
    redoc = _policy(await http.get("/redoc"))
    assert redoc == {**POLICY, "style-src": "'self' 'unsafe-inline'"}
    for path in PAGES:
        assert _policy(await http.get(path))["script-src"] == "'self'"


async def test_only_the_console_page_may_show_images_from_blob_urls(
    http: httpx.AsyncClient,
) -> None:
    # its artifact thumbnails (console/src/api/artifacts.ts); nothing else may load from blob:
    console = _policy(await http.get("/"))
    assert console == CONSOLE_POLICY
    assert [d for d, sources in console.items() if "blob:" in sources] == ["img-src"]
    for path in ["/docs", "/redoc", "/v1/flows", "/console/app.js"]:
        assert "blob:" not in (await http.get(path)).headers["content-security-policy"]


async def test_an_unhandled_error_still_carries_the_security_headers(
    services: Services, built_console: Path
) -> None:
    app = create_app(services, console=built_console)

    def broken() -> None:
        raise RuntimeError("a bug in a route")

    app.add_api_route("/v1/broken", broken)
    async with await _client(app) as client:
        response = await client.get("/v1/broken")
    assert response.status_code == 500
    _assert_security_headers(response)


@pytest.mark.parametrize("path", PAGES)
async def test_an_unbuilt_console_answers_503_saying_to_run_make_console(
    unbuilt: httpx.AsyncClient, path: str
) -> None:
    response = await unbuilt.get(path)
    assert response.status_code == 503
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "make console" in response.text
    assert "<script" not in response.text.lower()
    assert "<style" not in response.text.lower()
    _assert_security_headers(response)


async def test_the_api_works_without_a_built_console(unbuilt: httpx.AsyncClient) -> None:
    assert (await unbuilt.get("/v1/openapi.json")).status_code == 200
    assert (await unbuilt.get("/v1/flows")).status_code == 401  # the API's own answer
    assert (await unbuilt.get("/console/app.js")).status_code == 404


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/docs", "text/html; charset=utf-8"),
        ("/redoc", "text/html; charset=utf-8"),
        ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/app.css", "text/css; charset=utf-8"),
        ("/console/docs.js", "text/javascript; charset=utf-8"),
        ("/console/vendor/swagger-ui/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        ("/console/vendor/swagger-ui/swagger-ui.css", "text/css; charset=utf-8"),
        ("/console/vendor/redoc/redoc.standalone.js", "text/javascript; charset=utf-8"),
        ("/v1/openapi.json", "application/json"),
    ],
)
async def test_content_types(http: httpx.AsyncClient, path: str, content_type: str) -> None:
    response = await http.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == content_type


async def test_pages_are_revalidated_and_assets_cached_for_five_minutes(
    http: httpx.AsyncClient,
) -> None:
    for path in PAGES:
        assert (await http.get(path)).headers["cache-control"] == "no-cache"
    for path in ["/console/app.js", "/console/vendor/redoc/redoc.standalone.js"]:
        response = await http.get(path)
        assert response.headers["cache-control"] == "public, max-age=300"
        again = await http.get(path, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304


@pytest.mark.parametrize("path", [*PAGES, "/console/app.js"])
async def test_head_answers_like_get_without_a_body(http: httpx.AsyncClient, path: str) -> None:
    got, head = await http.get(path), await http.head(path)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]
    assert head.headers["content-type"] == got.headers["content-type"]


async def test_files_outside_the_console_directory_are_not_served(
    http: httpx.AsyncClient,
) -> None:
    # static/ sits beside the package's own modules
    for path in [
        "/console/%2e%2e/routes.py",
        "/console/..%2froutes.py",
        "/console/",
        "/console/vendor/",
    ]:
        assert (await http.get(path)).status_code == 404, path


async def test_console_routes_are_not_part_of_the_api_description(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/v1/openapi.json")).json()["paths"]
    assert {path for path in paths if not path.startswith("/v1/")} == {"/healthz", "/metrics"}
    assert (await http.get("/docs/oauth2-redirect")).status_code == 404  # FastAPI's is off


class _Page(HTMLParser):
    """The scripts, inline handlers, style elements and URLs of an HTML page."""

    URL_ATTRIBUTES = frozenset({"src", "href", "action", "formaction", "srcset", "poster"})

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script: list[str] = []
        self.handlers: list[str] = []
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named)
            self._in_script = True
        self.handlers += [name for name in named if name.startswith("on")]
        self.urls += [value for name, value in attrs if name in self.URL_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script.append(data)


@pytest.mark.parametrize("path", PAGES)
async def test_pages_have_no_inline_script_and_no_external_url(
    http: httpx.AsyncClient, path: str
) -> None:
    page = _Page()
    page.feed((await http.get(path)).text)
    assert page.scripts, "the page loads its script from a file"
    assert all(script.get("src") for script in page.scripts), page.scripts
    assert page.inline_script == []
    assert page.handlers == []
    local = [url for url in page.urls if urlsplit(url).scheme != "data"]  # data: is no origin
    external = [url for url in local if urlsplit(url).scheme or urlsplit(url).netloc]
    assert external == []
    for url in local:  # every file it names is served
        assert (await http.get(urlsplit(url).path if url.startswith("/") else f"/{url}")).is_success


async def test_redoc_bundle_loads_no_image_from_its_cdn(built_console: Path) -> None:
    bundle = (built_console / "vendor" / "redoc" / "redoc.standalone.js").read_text()
    assert "cdn.redoc.ly" not in bundle
