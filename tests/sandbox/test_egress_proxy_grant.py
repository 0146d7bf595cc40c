"""The proxy's ``grant`` op: a warm pool's lease lets nothing through until handoff, then exactly
the execution's rules, once."""

from __future__ import annotations

import pytest

from tests.sandbox.egress_harness import (
    ProxyProcess,
    Upstream,
    one,
    open_tunnel,
    public,
    status,
)


def test_a_lease_without_rules_refuses_until_granted_then_records_only_the_execution(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(test_public=public(upstream))
    token, path = proxy.open([])
    sock, head = open_tunnel(path, f"127.0.0.1:{upstream.port}")
    sock.close()
    assert status(head) == 403
    assert upstream.accepted == []
    proxy.wait_idle()

    assert proxy.call("grant", token=token, rules=[f"127.0.0.1:{upstream.port}"], ttl_s=60)["ok"]
    sock, head = open_tunnel(path, f"127.0.0.1:{upstream.port}")
    sock.close()
    assert status(head) == 200
    record = one(proxy.close(token))  # the refusal before the grant is not the execution's
    assert record["allowed"] is True


def test_grant_is_refused_twice_for_leases_with_rules_and_for_unknown_tokens(
    proxy: ProxyProcess,
) -> None:
    proxy.configure()
    pooled, _ = proxy.open([])
    assert proxy.call("grant", token=pooled, rules=["api.example.com"], ttl_s=60)["ok"]
    again = proxy.call("grant", token=pooled, rules=["*"], ttl_s=60)
    assert not again["ok"] and again["error"].startswith("/token: the lease has its rules")
    ordinary, _ = proxy.open(["api.example.com"])
    widened = proxy.call("grant", token=ordinary, rules=["*"], ttl_s=60)
    assert not widened["ok"] and "has its rules already" in widened["error"]
    unknown = proxy.call("grant", token="f" * 32, rules=[], ttl_s=60)
    assert not unknown["ok"] and unknown["error"].startswith("/token: no open lease")
    closed_token, _ = proxy.open([])
    proxy.close(closed_token)
    late = proxy.call("grant", token=closed_token, rules=["api.example.com"], ttl_s=60)
    assert not late["ok"]


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"rules": "api.example.com", "ttl_s": 60}, "/rules"),
        ({"rules": ["http://x"], "ttl_s": 60}, "/rules/0"),
        ({"rules": [], "ttl_s": 0}, "/ttl_s"),
        ({"rules": [], "ttl_s": True}, "/ttl_s"),
    ],
)
def test_bad_grants_name_the_field(
    proxy: ProxyProcess, fields: dict[str, object], pointer: str
) -> None:
    proxy.configure()
    token, _ = proxy.open([])
    reply = proxy.call("grant", token=token, **fields)
    assert not reply["ok"] and reply["error"].startswith(f"{pointer}:"), reply
