"""Malformed egress entries, one per kind, shared by the SDK, CLI and API tests."""

from __future__ import annotations

# (entry, words the refusal must contain)
MALFORMED: list[tuple[object, str]] = [
    ("https://api.github.com", "URL or scheme"),
    ("api.github.com/v3/repos", "path"),
    ("mailto:ops", "URL or scheme"),
    ("10.0.0.0/8", "range"),
    ("api..github.com", "empty label"),
    (".github.com", "empty label"),
    ("api.github.com:0", "port"),
    ("api.github.com:65536", "port"),
    ("", "empty"),
    ("*.com", "top-level domain"),
    ("api.*.com", "wildcard"),
    ("127.1", "canonical"),
    ("2130706433", "canonical"),
    ("0x7f.1", "numeric"),
    (7, "string"),
]
