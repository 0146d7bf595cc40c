"""The browser SDK's ``--disable-features`` switch keeps Playwright's list (Chromium keeps only
the last such switch, and Playwright's comes first): checked against the installed driver's
own ``chromiumSwitches`` source, so a Playwright upgrade that adds a feature fails here."""

from __future__ import annotations

import re
from pathlib import Path

import playwright

from step_sdk import browser


def _playwright_disabled_features() -> set[str]:
    bundle = Path(playwright.__file__).parent / "driver/package/lib/coreBundle.js"
    source = bundle.read_text(encoding="utf-8")
    block = re.search(r"disabledFeatures = \[(.*?)\]\.filter", source, re.S)
    assert block, f"no disabledFeatures list in {bundle}"
    code = re.sub(r"//[^\n]*", "", block.group(1))
    return set(re.findall(r'"([A-Za-z0-9]+)"', code))


def test_the_one_disable_features_switch_keeps_playwrights_list() -> None:
    switches = [a for a in browser.CHROMIUM_ARGS if a.startswith("--disable-features=")]
    assert len(switches) == 1, switches
    ours = set(switches[0].removeprefix("--disable-features=").split(","))
    expected = _playwright_disabled_features()
    assert "NetworkTimeServiceQuerying" in expected
    assert expected <= ours, sorted(expected - ours)
    assert {"NetworkPrediction", "DnsOverHttps"} <= ours
