"""The egress entry grammar (step_sdk.egress): what a manifest may list, how a request's host is
normalized, and what a rule allows."""

from __future__ import annotations

import pytest

from step_sdk.egress import (
    EgressEntryError,
    EgressRule,
    allows,
    normalize_host,
    parse_egress,
    parse_entry,
    widened,
)


@pytest.mark.parametrize(
    ("entry", "rule"),
    [
        ("api.github.com", EgressRule("api.github.com", 443)),
        ("API.GitHub.com", EgressRule("api.github.com", 443)),
        ("hooks.example.com:8443", EgressRule("hooks.example.com", 8443)),
        ("example.com:80", EgressRule("example.com", 80)),
        ("*.slack.com", EgressRule("*.slack.com", 443)),
        ("*", EgressRule("*", 443)),
        ("*:80", EgressRule("*", 80)),
        ("203.0.113.7", EgressRule("203.0.113.7", 443)),
        ("[2001:db8::1]:8443", EgressRule("2001:db8::1", 8443)),
        ("[2001:0db8:0:0:0:0:0:1]", EgressRule("2001:db8::1", 443)),
        ("under_score.example.com", EgressRule("under_score.example.com", 443)),
    ],
)
def test_well_formed_entries_parse_to_normalized_rules(entry: str, rule: EgressRule) -> None:
    assert parse_entry(entry) == rule


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("https://api.github.com", "URL or scheme"),
        ("http://api.github.com/v3", "URL or scheme"),
        ("https:api.github.com", "URL or scheme"),
        ("api.github.com/repos", "path"),
        ("10.0.0.0/8", "range"),
        ("api..github.com", "empty label"),
        (".github.com", "empty label"),
        ("github.com.", "empty label"),
        ("example.com:0", "1 to 65535"),
        ("example.com:65536", "1 to 65535"),
        ("example.com:99999", "1 to 65535"),
        ("example.com:08", "1 to 65535"),
        ("example.com:-1", "1 to 65535"),
        ("example.com:", "1 to 65535"),
        ("mailto:ops@example.com", "URL or scheme"),
        ("", "empty"),
        ("*.com", "top-level domain"),
        ("*example.com", "wildcard"),
        ("api.*.com", "wildcard"),
        ("127.1", "canonical"),
        ("2130706433", "canonical"),
        ("0x7f.0.0.1", "numeric IP"),
        ("::1", "brackets"),
        ("[::1", "brackets"),
        ("[not-v6]", "not an IPv6 address"),
        ("user@example.com", "bare host"),
        ("exa mple.com", "bare host"),
        ("-lead.example.com", "not a host name label"),
        ("a" * 64 + ".example.com", "not a host name label"),
        ("x" * 300, "longer than"),
    ],
)
def test_malformed_entries_are_refused_saying_why(entry: str, complaint: str) -> None:
    with pytest.raises(EgressEntryError, match=complaint):
        parse_entry(entry)


@pytest.mark.parametrize("entry", [None, 443, ["a.com"], {"host": "a.com"}])
def test_an_entry_must_be_a_string(entry: object) -> None:
    with pytest.raises(EgressEntryError, match="must be a string"):
        parse_entry(entry)


def test_a_list_error_names_the_entry_by_its_json_pointer() -> None:
    with pytest.raises(EgressEntryError, match=r"^/egress/2: .*URL"):
        parse_egress(["a.example.com", "b.example.com", "https://c.example.com"])


def test_a_list_is_deduplicated_and_sorted() -> None:
    assert parse_egress(["b.example.com", "A.example.com", "a.example.com"]) == (
        EgressRule("a.example.com", 443),
        EgressRule("b.example.com", 443),
    )


def test_a_list_has_a_maximum_length() -> None:
    with pytest.raises(EgressEntryError, match="at most 64"):
        parse_egress([f"h{i}.example.com" for i in range(65)])


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7F000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[0:0:0:0:0:0:0:1]", "::1"),
        ("[::1]", "::1"),
        ("127.0.0.1.", "127.0.0.1"),
    ],
)
def test_every_ip_spelling_normalizes_to_its_canonical_address(spelling: str, address: str) -> None:
    assert normalize_host(spelling) == address


@pytest.mark.parametrize(
    ("host", "normalized"),
    [("API.GitHub.com", "api.github.com"), ("api.github.com.", "api.github.com")],
)
def test_names_normalize_to_lower_case_without_the_final_dot(host: str, normalized: str) -> None:
    assert normalize_host(host) == normalized


@pytest.mark.parametrize(
    "host",
    ["", "a..b", "-a.example.com", "256.1.1.1.1", "4294967296", "08.0.0.1", "[::g]", "*", "a b"],
)
def test_what_is_not_a_host_normalizes_to_none(host: str) -> None:
    assert normalize_host(host) is None


def test_a_name_rule_allows_that_name_on_its_port_only() -> None:
    rules = parse_egress(["api.github.com"])
    assert allows(rules, "api.github.com", 443)
    assert not allows(rules, "api.github.com", 80)
    assert not allows(rules, "api.github.com", 8443)
    assert not allows(rules, "github.com", 443)
    assert not allows(rules, "evil-api.github.com", 443)


def test_port_80_is_allowed_only_when_listed() -> None:
    assert not allows(parse_egress(["example.com"]), "example.com", 80)
    assert allows(parse_egress(["example.com:80"]), "example.com", 80)


def test_a_wildcard_allows_names_below_its_domain_but_not_the_domain() -> None:
    rules = parse_egress(["*.slack.com"])
    assert allows(rules, "hooks.slack.com", 443)
    assert allows(rules, "a.b.slack.com", 443)
    assert not allows(rules, "slack.com", 443)
    assert not allows(rules, "evilslack.com", 443)
    assert not allows(rules, "hooks.slack.com", 80)


def test_any_host_allows_names_but_never_ip_literals() -> None:
    rules = parse_egress(["*"])
    assert allows(rules, "example.com", 443)
    assert not allows(rules, "example.com", 80)
    assert not allows(rules, "93.184.216.34", 443)
    assert not allows(rules, "2606:2800:220:1::", 443)


@pytest.mark.parametrize("spelling", ["2130706433", "0x7f.1", "127.1", "0177.0.0.1"])
def test_an_ip_literal_matches_only_a_rule_listing_that_address(spelling: str) -> None:
    host = normalize_host(spelling)
    assert host is not None
    assert not allows(parse_egress(["*", "*.example.com", "localhost"]), host, 443)
    assert allows(parse_egress(["127.0.0.1"]), host, 443)


def test_a_mapped_ipv6_spelling_does_not_match_the_ipv4_rule() -> None:
    host = normalize_host("[::ffff:127.0.0.1]")
    assert host is not None
    assert not allows(parse_egress(["127.0.0.1"]), host, 443)
    assert allows(parse_egress(["[::ffff:127.0.0.1]"]), host, 443)


def test_covers_says_whether_one_rule_allows_everything_another_does() -> None:
    wildcard, name, any_host = (parse_entry(e) for e in ("*.example.com", "a.example.com", "*"))
    assert wildcard.covers(name)
    assert not name.covers(wildcard)
    assert any_host.covers(name)
    assert any_host.covers(wildcard)
    assert not any_host.covers(parse_entry("203.0.113.7"))
    assert not wildcard.covers(parse_entry("a.example.com:8443"))
    assert name.covers(parse_entry("A.example.com"))


def test_widened_lists_the_entries_a_new_version_adds() -> None:
    old = parse_egress(["*.example.com", "api.github.com"])
    new = parse_egress(["a.example.com", "api.github.com", "hooks.slack.com", "api.github.com:80"])
    assert widened(new, old) == ["api.github.com:80", "hooks.slack.com"]
    assert widened(old, old) == []
    assert widened(parse_egress(["*"]), old) == ["*"]
