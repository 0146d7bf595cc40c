"""Chromium for the browser tests (Debian's, through Playwright) and what every test checks
about a page: where its requests went, CSP violations, the API key in a URL."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page, Request, expect

from tests.console.stack import ConsoleStack

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-output" / "console"
CHROMIUM = "/usr/bin/chromium"

# Playwright gives every launch a fresh temporary profile (its own --user-data-dir) and adds
# --headless itself; nothing is downloaded: the executable is Debian's.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Listens for the page's own CSP reports; injected by the browser (not subject to the CSP).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__stepwellCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} on ${event.documentURI}`
  );
});
"""


def chromium_executable() -> str:
    if not Path(CHROMIUM).is_file():
        found = shutil.which("chromium")
        if found is None:
            raise RuntimeError("Debian's chromium is missing: run scripts/setup.sh")
        return found
    return CHROMIUM


@dataclass
class BrowserLog:
    """Every request URL of a browser context, and every CSP violation its pages reported."""

    origin: str
    requests: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self._on_request)
        context.expose_function("__stepwellCspViolation", self._on_violation)
        context.add_init_script(REPORT_VIOLATIONS)

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _on_violation(self, description: str) -> None:
        self.csp_violations.append(description)

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(f"console: {message.text}")

    def foreign_requests(self) -> list[str]:
        """URLs that went anywhere but the stack's origin (data: and blob: are local)."""
        offenders = []
        for url in self.requests:
            scheme = urlsplit(url).scheme
            if scheme in ("data", "blob"):
                continue
            if scheme not in ("http", "https") or _origin(url) != self.origin:
                offenders.append(url)
        return offenders

    def problems(self, api_key: str) -> list[str]:
        """What breaks the console's promises, one line each (empty when all is well)."""
        found = [f"request to another origin: {url}" for url in self.foreign_requests()]
        found += [f"CSP violation: {violation}" for violation in self.csp_violations]
        found += [f"API key in a URL: {url}" for url in self.requests if api_key in url]
        return found


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def screenshot(page: Page, name: str) -> Path:
    """Save a PNG of the whole page as ``test-output/console/<name>.png`` (overwritten per run)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def workspace_label(page: Page) -> Locator:
    """Where the console's top bar shows the signed-in workspace's name."""
    return page.get_by_role("banner").get_by_label("Workspace", exact=True)


def sign_in(page: Page, stack: ConsoleStack) -> str:
    """Sign in through the console's form; returns the workspace name the top bar then shows."""
    workspace = str(stack.api.get("/v1/workspace").raise_for_status().json()["name"])
    page.goto("/")
    page.get_by_label("API key").fill(stack.api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(workspace_label(page)).to_have_text(workspace)
    return workspace
