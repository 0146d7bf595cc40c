"""Headless Chromium for ``python3.11-browser`` steps, launched the one right way (docs/browser.md).

Inside a browser step's container::

    from step_sdk import step
    from step_sdk.browser import browser

    @step(name="web.title", runtime="python3.11-browser", egress=["example.com"])
    def title(url: str) -> str:
        with browser() as chromium:          # a playwright.sync_api.Browser
            page = chromium.new_page()
            page.goto(url)
            return page.title()

An ``async def`` step uses ``async with async_browser() as chromium`` (Playwright's async API).

What every launch gets: Debian's ``/usr/bin/chromium`` (Playwright never downloads a browser),
headless; when the execution has an egress lease (the host mounted its proxy socket, see
``step_sdk.egress_forwarder``) every request, WebSocket and name lookup goes to the egress
proxy at ``127.0.0.1:3128``, which applies the step's declared hosts; without one there is no
proxy and no network at all. No background networking, DNS prefetching, crash reporter, sync,
component updates, QUIC or GPU; shared memory in /tmp instead of the small /dev/shm; downloads
in ``DOWNLOADS_DIR`` on the /tmp tmpfs (capped by its size) and Playwright's temporary profile
there too. Chromium's own sandbox is off (``--no-sandbox``): the container is the boundary, see
docs/browser.md for what replaces it.

Importing this module needs nothing beyond the standard library; ``playwright`` is imported when
a browser is launched (it is in the browser image only).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Browser as AsyncBrowser
    from playwright.sync_api import Browser

CHROMIUM = "/usr/bin/chromium"
EGRESS_SOCKET = "/run/stepwell/egress/proxy.sock"
EGRESS_PROXY = "http://127.0.0.1:3128"
DOWNLOADS_DIR = "/tmp/stepwell-downloads"
# Chromium keeps only the LAST ``--disable-features`` switch, and Playwright puts its own first,
# so ours must repeat Playwright's list (1.65's ``chromiumSwitches.ts``; a test checks it against
# the installed driver) or its entries are lost: without ``NetworkTimeServiceQuerying`` every
# launch asks clients2.google.com for the time.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
DISABLED_FEATURES = (*PLAYWRIGHT_DISABLED_FEATURES, "NetworkPrediction", "DnsOverHttps")
# On top of Playwright's own defaults (which already disable background networking, sync,
# component updates, the first-run UI and more).
CHROMIUM_ARGS = (
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-quic",
    "--dns-prefetch-disable",
    "--disable-features=" + ",".join(DISABLED_FEATURES),
    # The optimisation guide's on-device model manifest is fetched from update.googleapis.com
    # by an on-demand component update, which --disable-component-update does not stop
    # (component id ceofaddefefcbblgcgnibnonglccbfja); with a local manifest path it is read
    # from disk instead (none is there: no model, no request).
    "--optimization-guide-manifest-override=/nonexistent",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-sync",
    "--no-first-run",
    "--no-pings",
    "--no-zygote",
    # WebRTC may only use the proxy (there is no other route, this keeps it from trying)
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)


def has_egress() -> bool:
    """Whether this execution has an egress lease (its proxy socket is mounted)."""
    return os.path.exists(EGRESS_SOCKET)


# Keyword options a step may not pass, and Chromium switches it may not add: each changes the
# proxy, sandbox, headless mode, the executables Chromium starts, the profile or the downloads
# folder. For correctness (a step gets the browser docs/browser.md describes), not security:
# the container is the boundary (docs/browser.md).
_FIXED_OPTIONS = (
    "executable_path",
    "proxy",
    "headless",
    "chromium_sandbox",
    "downloads_path",
    "ignore_default_args",  # would drop Playwright's --headless, --no-sandbox, ... defaults
)
_FIXED_SWITCH_WORDS = ("proxy", "sandbox", "headless")  # any switch naming these
_FIXED_SWITCHES = (
    "--browser-subprocess-path",
    "--user-data-dir",
    "--download-default-directory",
    "--gpu-launcher",
    "--ppapi-plugin-launcher",
)
_FIXED_SWITCH_SUFFIXES = ("-cmd-prefix", "-launcher", "-subprocess-path")


def _switch_name(arg: str) -> str:
    """``"--Proxy-Server=x"`` -> ``"--proxy-server"`` (Chromium also takes one leading dash)."""
    return "--" + arg.split("=", 1)[0].strip().lstrip("-").lower()


def _check_overrides(overrides: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the first option or switch a step may not set."""
    refused = sorted(set(_FIXED_OPTIONS) & set(overrides))
    if refused:
        raise ValueError(f"browser(): {', '.join(refused)} cannot be changed in a step")
    args = overrides.get("args", ())
    if isinstance(args, str):
        raise ValueError("browser(): args must be a list of strings, not one string")
    for arg in args:
        if not isinstance(arg, str):
            raise ValueError(f"browser(): args entry {arg!r} is not a string")
        name = _switch_name(arg)
        if (
            any(word in name for word in _FIXED_SWITCH_WORDS)
            or name in _FIXED_SWITCHES
            or name.endswith(_FIXED_SWITCH_SUFFIXES)
        ):
            raise ValueError(
                f"browser(): args {name} cannot be used in a step (it changes the proxy, "
                "sandbox, headless mode, executables, profile or downloads folder)"
            )


def launch_options(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments for Playwright's ``chromium.launch`` (sync or async).

    ``overrides`` may add options (``slow_mo``, ``timeout``, more ``args``); the executable,
    sandbox, proxy and download settings stay as described above.

    Raises:
        ValueError: an override tries to change ``executable_path``, ``proxy``, ``headless``,
            ``chromium_sandbox`` or ``downloads_path``, passes ``ignore_default_args``, or an
            ``args`` entry is a switch in ``_FIXED_SWITCHES`` (the message names it).
    """
    _check_overrides(overrides)
    os.makedirs(DOWNLOADS_DIR, exist_ok=True)
    extra_args = list(overrides.pop("args", ()))
    options: dict[str, Any] = {
        "executable_path": CHROMIUM,
        "headless": True,
        "chromium_sandbox": False,
        "downloads_path": DOWNLOADS_DIR,
        "args": [*CHROMIUM_ARGS, *extra_args],
        # the driver's environment: the container's, without proxy variables (the proxy is
        # given to Chromium explicitly, or there is none)
        "env": {k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
        **overrides,
    }
    if has_egress():
        options["proxy"] = {"server": EGRESS_PROXY}
    return options


@contextmanager
def browser(**overrides: Any) -> Iterator[Browser]:
    """A Playwright ``Browser`` (sync API) running Debian's Chromium, closed on exit.

    Raises:
        playwright.sync_api.Error: Chromium failed to start (the message has its output).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(**launch_options(**overrides))
        try:
            yield launched
        finally:
            launched.close()


@asynccontextmanager
async def async_browser(**overrides: Any) -> AsyncIterator[AsyncBrowser]:
    """The same for ``async def`` steps (Playwright's async API)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(**launch_options(**overrides))
        try:
            yield launched
        finally:
            await launched.close()
