"""A pushed step's egress as the registry sees it: the operator's policy at push time, what a
new version adds over the previous one, and tolerant reading of what is stored.

The operator's ``Settings.egress`` decides which declared egress a push may carry:

* ``declared`` (the default): explicit hosts only; an ``*`` / ``*:port`` entry is refused, and
  so is a wildcard over a public suffix (``*.co.uk``, ``*.github.io``);
* ``any-public``: ``*`` entries too (the egress proxy still refuses every non-public address);
* ``off``: steps get no network on this installation, so a step declaring any egress is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from publicsuffixlist import PublicSuffixList

from step_sdk.egress import ANY_HOST, EgressEntryError, EgressRule, parse_entry, widened
from step_sdk.errors import Problem
from step_sdk.manifest import Manifest
from ui_api.errors import ApiError

EGRESS_SETTING = "STEPWELL_EGRESS"
REFUSED_CODE = "egress_not_allowed"


def check_policy(manifest: Manifest, mode: str, declared: Sequence[str] | None = None) -> None:
    """Refuse a manifest whose egress this installation does not allow.

    ``declared`` is ``egress`` as the uploaded document lists it (default: the manifest's own,
    sorted), so that pointers name the author's indexes.

    Raises:
        ApiError: 422 with code ``egress_not_allowed`` and one problem per refused entry
            (``/manifest/egress/<index>``), or one for the whole list (``/manifest/egress``)
            when the setting is ``off``.
    """
    entries = manifest.egress
    if not entries or mode == "any-public":
        return
    if mode == "off":
        message = (
            f"this installation gives steps no network ({EGRESS_SETTING}=off), so a step that "
            f"declares egress cannot be pushed; {manifest.ref} declares {', '.join(entries)}"
        )
        raise ApiError(
            422,
            f"the bundle is refused: {message}",
            code=REFUSED_CODE,
            details=[Problem("/manifest/egress", message)],
        )
    problems = [
        Problem(f"/manifest/egress/{index}", problem)
        for index, entry in enumerate(entries if declared is None else declared)
        if (problem := _too_wide(entry))
    ]
    if problems:
        raise ApiError(
            422,
            f"the bundle is refused: {problems[0]}",
            code=REFUSED_CODE,
            details=problems,
        )


def _too_wide(entry: str) -> str:
    """Why ``declared`` refuses ``entry`` (``""`` if it does not): ``*``, or a wildcard over a
    public suffix such as ``*.co.uk`` or ``*.github.io``, below which anyone can register a
    name, so it means "any host" as much as ``*`` does (Mozilla's Public Suffix List, with its
    private section, through ``publicsuffixlist``)."""
    try:
        host = parse_entry(entry).host
    except EgressEntryError:
        return ""
    allow = f"{EGRESS_SETTING}=any-public would allow {entry!r}"
    if host == ANY_HOST:
        return (
            f"{entry!r} means any public host, and this installation's operator allows only "
            f"explicit hosts ({EGRESS_SETTING}=declared): list the hosts the step calls, "
            f"e.g. 'api.example.com' ({allow})"
        )
    if host.startswith("*.") and _public_suffixes().is_public(host[2:]):
        return (
            f"{entry!r} would allow any host under {host[2:]}, a public suffix where anyone can "
            f"register a name, and this installation's operator allows only explicit hosts "
            f"({EGRESS_SETTING}=declared): list the hosts the step calls ({allow})"
        )
    return ""


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list shipped with the package: no download


def _rules(entries: Iterable[Any]) -> list[EgressRule]:
    """The entries that parse; a stored entry the grammar no longer accepts is left out."""
    rules = []
    for entry in entries:
        try:
            rules.append(parse_entry(entry))
        except EgressEntryError:
            continue
    return rules


def widened_entries(new: Iterable[str], previous: Iterable[Any]) -> list[str]:
    """The entries of ``new`` that no entry of ``previous`` covers, as normalized text.

    ``previous`` is the previous version's stored egress (empty when there is none: then every
    entry of the first version is new network access).
    """
    return widened(_rules(new), _rules(previous))


def stored_egress(manifest: Any) -> list[str]:
    """A stored manifest's ``egress`` as text entries; anything else reads as none."""
    egress = manifest.get("egress") if isinstance(manifest, dict) else None
    return stored_entries(egress)


def stored_entries(value: Any) -> list[str]:
    """A stored list of egress entries; a value of another shape reads as an empty list."""
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, str)]
