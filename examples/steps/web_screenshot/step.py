"""web.screenshot: screenshot a page in headless Chromium, return its title and links."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field
from typing_extensions import TypedDict

from step_sdk import StepContext, step
from step_sdk.browser import browser

if TYPE_CHECKING:
    from playwright.sync_api import Response

PROXY_REFUSAL = "stepwell egress proxy: "  # how the proxy words its own answers
SCREENSHOT = "page.png"
# Links read in the page: absolute http(s) URLs with their visible text (cut at 200 characters).
READ_LINKS = """anchors => anchors.map(a => ({
  href: a.href,
  text: (a.innerText || a.getAttribute("aria-label") || "").trim().slice(0, 200),
}))"""


def refused_by_proxy(response: Response | None) -> str | None:
    """The egress proxy's reason when it answered a plain-HTTP page itself (a host the step may
    not reach, a cap reached); an HTTPS page it refuses fails to load instead."""
    if response is None or response.status < 400:
        return None
    if not response.headers.get("content-type", "").startswith("text/plain"):
        return None
    text = response.text()
    return text.strip() if text.startswith(PROXY_REFUSAL) else None


class Link(TypedDict):
    """One link of the page: its absolute URL and its visible text."""

    href: str
    text: str


class Page(TypedDict):
    """What the page showed: where it ended up (after redirects), its HTTP status, its title,
    its first ``max_links`` distinct http(s) links in document order, and the screenshot's
    artifact name and size in bytes."""

    url: str
    status: int | None
    title: str
    links: list[Link]
    links_total: int
    screenshot: str
    screenshot_bytes: int


@step(
    name="web.screenshot",
    version="1.0.0",
    title="Screenshot a web page",
    runtime="python3.11-browser",
    egress=["*", "*:80"],
    timeout_s=60,
)
def screenshot(
    url: Annotated[str, Field(pattern=r"^https?://", max_length=8192)],
    ctx: StepContext,
    width: Annotated[int, Field(ge=320, le=3840)] = 1280,
    height: Annotated[int, Field(ge=240, le=2160)] = 800,
    full_page: bool = False,
    max_links: Annotated[int, Field(ge=0, le=500)] = 50,
) -> Page:
    """Open ``url`` in a ``width`` by ``height`` viewport, wait until it has loaded, save a PNG
    screenshot of it (the whole page with ``full_page``) as the run artifact ``page.png``, and
    return its title and links.

    The page can reach only the hosts the step may reach (its egress): any public host on port
    443 or 80 when the installation allows it (``STEPWELL_EGRESS=any-public``); everything else
    it asks for is refused and listed in the step's connections. A page that fails to load (a
    host the step may not reach, a DNS failure, a timeout) is an error; a 4xx or 5xx page the
    site sent is a result.
    """
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": width, "height": height})
        response = page.goto(url, wait_until="load", timeout=30_000)
        if refusal := refused_by_proxy(response):
            raise ConnectionError(f"{url}: {refusal}")
        shot = page.screenshot(full_page=full_page, type="png")
        ctx.artifacts.save(SCREENSHOT, shot, "image/png")
        seen: set[str] = set()
        links: list[Link] = []
        found = page.eval_on_selector_all("a[href]", READ_LINKS)
        for link in found:
            href = str(link["href"])
            if href.startswith(("http://", "https://")) and href not in seen:
                seen.add(href)
                links.append({"href": href, "text": str(link["text"])})
        return {
            "url": page.url,
            "status": response.status if response is not None else None,
            "title": page.title(),
            "links": links[:max_links],
            "links_total": len(links),
            "screenshot": SCREENSHOT,
            "screenshot_bytes": len(shot),
        }
