"""Which declared egress entries an execution gets under each operator setting; the proxy
image's identity."""

from __future__ import annotations

import pytest

from sandbox.egress.image import content_digest, proxy_files
from sandbox.egress.rules import effective_rules

DECLARED = ("api.github.com", "*.slack.com", "hooks.example.com:8443", "*", "*:80")


def test_declared_keeps_listed_hosts_and_drops_any_host_entries() -> None:
    assert effective_rules(DECLARED, "declared") == (
        "api.github.com",
        "*.slack.com",
        "hooks.example.com:8443",
    )


def test_any_public_keeps_everything() -> None:
    assert effective_rules(DECLARED, "any-public") == DECLARED


def test_off_gives_nothing() -> None:
    assert effective_rules(DECLARED, "off") == ()


def test_only_any_host_entries_under_declared_give_no_network() -> None:
    assert effective_rules(("*", "*:80"), "declared") == ()


def test_an_unknown_mode_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="egress_mode"):
        effective_rules(DECLARED, "open")


def test_the_proxy_image_holds_only_the_proxy_and_a_pydantic_free_sdk() -> None:
    files = proxy_files()
    assert files["step_sdk/__init__.py"] == b""
    assert "sandbox/egress/proxy.py" in files and "step_sdk/egress.py" in files
    assert any(name.startswith("h11/") for name in files)
    for host_side in ("gateway.py", "image.py", "channel.py", "rules.py"):
        assert f"sandbox/egress/{host_side}" not in files


def test_the_proxy_image_tag_follows_the_base_image() -> None:
    assert content_digest("sha256:aa") == content_digest("sha256:aa")
    assert content_digest("sha256:aa") != content_digest("sha256:bb")
