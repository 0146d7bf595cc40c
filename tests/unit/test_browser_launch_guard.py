"""``launch_options`` refuses every override that would change what docs/browser.md promises.

Each case is an attempt a step could make; the guard is for correctness, not security (the
container is the boundary), so these run without Docker.
"""

from __future__ import annotations

from typing import Any

import pytest

from step_sdk import browser


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"executable_path": "/bin/sh"}, "executable_path"),
        ({"headless": False}, "headless"),
        ({"chromium_sandbox": True}, "chromium_sandbox"),
        ({"proxy": {"server": "http://1.2.3.4:80"}}, "proxy"),
        ({"downloads_path": "/opt/stepwell/bundle"}, "downloads_path"),
        ({"ignore_default_args": True}, "ignore_default_args"),
        ({"ignore_default_args": ["--no-sandbox"]}, "ignore_default_args"),
        ({"ignore_default_args": False}, "ignore_default_args"),
        ({"args": ["--proxy-server=http://1.2.3.4:80"]}, "--proxy-server"),
        ({"args": ["--no-proxy-server"]}, "--no-proxy-server"),
        ({"args": ["--proxy-bypass-list=*"]}, "--proxy-bypass-list"),
        ({"args": ["--proxy-pac-url=data:,x"]}, "--proxy-pac-url"),
        ({"args": ["-Proxy-Server=x"]}, "--proxy-server"),
        ({"args": ["--enable-sandbox"]}, "--enable-sandbox"),
        ({"args": ["--disable-setuid-sandbox"]}, "--disable-setuid-sandbox"),
        ({"args": ["--headless=old"]}, "--headless"),
        ({"args": ["--renderer-cmd-prefix=/bin/true"]}, "--renderer-cmd-prefix"),
        ({"args": ["--utility-cmd-prefix=/bin/true"]}, "--utility-cmd-prefix"),
        ({"args": ["--gpu-launcher=/bin/true"]}, "--gpu-launcher"),
        ({"args": ["--browser-subprocess-path=/bin/true"]}, "--browser-subprocess-path"),
        ({"args": ["--user-data-dir=/tmp/x"]}, "--user-data-dir"),
        ({"args": ["--download-default-directory=/tmp"]}, "--download-default-directory"),
        ({"args": ["--lang=fr", "--proxy-server=x"]}, "--proxy-server"),
        ({"args": "--proxy-server=x"}, "args"),
        ({"args": [7]}, "args"),
    ],
)
def test_launch_options_refuses_what_would_change_the_browser(
    overrides: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        browser.launch_options(**overrides)


def test_launch_options_keeps_harmless_args_and_options(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(browser, "DOWNLOADS_DIR", str(tmp_path / "dl"))
    options = browser.launch_options(args=["--lang=fr", "--window-size=800,600"], slow_mo=5)
    assert options["args"][-2:] == ["--lang=fr", "--window-size=800,600"]
    assert options["slow_mo"] == 5
    assert options["executable_path"] == browser.CHROMIUM
    assert options["headless"] is True
    assert "ignore_default_args" not in options
