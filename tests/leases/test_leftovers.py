"""Which containers a janitor removes (sandbox.leftovers): its rules, without Docker."""

from __future__ import annotations

from sandbox import labels
from sandbox.leftovers import LeaseView, is_leftover

NOW = 1_000_000.0
OURS = LeaseView("inst_ours", frozenset({"host/1/live"}))
LATER = str(NOW + 3600)


def leased(owner: str, installation: str = "inst_ours", **more: str) -> dict[str, str]:
    return {
        labels.ROLE: labels.ROLE_POOLED,
        labels.OWNER: owner,
        labels.INSTALLATION: installation,
        labels.EXPIRES: LATER,
        **more,
    }


def test_a_container_of_a_worker_without_a_live_lease_is_a_leftover_before_it_expires() -> None:
    assert is_leftover(leased("host/2/dead"), now=NOW, leases=OURS)


def test_a_live_workers_container_is_kept_until_it_expires() -> None:
    assert not is_leftover(leased("host/1/live"), now=NOW, leases=OURS)
    expired = leased("host/1/live", **{labels.EXPIRES: str(NOW - 1)})
    assert is_leftover(expired, now=NOW, leases=OURS)


def test_every_kind_of_container_of_a_dead_worker_goes_even_the_egress_proxy() -> None:
    for role in (labels.ROLE_STEP, labels.ROLE_POOLED, labels.ROLE_BUILD, labels.ROLE_EGRESS):
        proxy = leased("host/2/dead", **{labels.ROLE: role})
        proxy.pop(labels.EXPIRES)  # the proxy has no expiry; nothing else needs one here
        assert is_leftover(proxy, now=NOW, leases=OURS), role


def test_another_installations_container_is_judged_by_its_expiry_only() -> None:
    """Its owner has no lease in our database (it lives in another one): that says nothing."""
    theirs = leased("host/2/dead", installation="inst_theirs")
    assert not is_leftover(theirs, now=NOW, leases=OURS)
    expired = leased("host/2/dead", "inst_theirs", **{labels.EXPIRES: str(NOW - 1)})
    assert is_leftover(expired, now=NOW, leases=OURS)
    proxy = leased("host/2/dead", "inst_theirs", **{labels.ROLE: labels.ROLE_EGRESS})
    proxy.pop(labels.EXPIRES)
    assert not is_leftover(proxy, now=NOW, leases=OURS), "a proxy never expires"


def test_without_a_database_leased_containers_are_judged_by_expiry_only() -> None:
    assert not is_leftover(leased("host/2/dead"), now=NOW, leases=None)
    expired = leased("host/2/dead", **{labels.EXPIRES: str(NOW - 1)})
    assert is_leftover(expired, now=NOW, leases=None)


def test_a_process_without_a_lease_is_judged_by_its_pid_on_its_own_host() -> None:
    legacy = {labels.ROLE: labels.ROLE_STEP, labels.OWNER: "box:42", labels.EXPIRES: LATER}
    assert is_leftover(legacy, now=NOW, leases=OURS, hostname="box", gone=lambda pid: pid == 42)
    assert not is_leftover(legacy, now=NOW, leases=OURS, hostname="box", gone=lambda pid: False)
    assert not is_leftover(legacy, now=NOW, leases=OURS, hostname="other", gone=lambda pid: True), (
        "a process on another host cannot be checked"
    )


def test_an_unreadable_expiry_counts_as_expired() -> None:
    broken = {labels.ROLE: labels.ROLE_STEP, labels.EXPIRES: "soon"}
    assert is_leftover(broken, now=NOW, leases=OURS)
