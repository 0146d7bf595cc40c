"""Validation of a step's ``requirements`` (contract 1, contract 4).

A requirement is exactly ``name[extras]==version``: no URLs, paths, editable installs, pip options,
environment markers or version ranges. Anything looser would let a step author reach outside the
wheel-only, host-resolved build that keeps dependency installation safe and reproducible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_VERSION = r"[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?"
_PINNED = re.compile(
    rf"^(?P<name>{_NAME})(?:\[(?P<extras>{_NAME}(?:\s*,\s*{_NAME})*)\])?\s*==\s*(?P<version>{_VERSION})$"
)
MAX_REQUIREMENTS = 64


class RequirementError(ValueError):
    """A requirement string is not an exact ``name[extras]==version`` pin."""


@dataclass(frozen=True, order=True)
class Requirement:
    """One pinned requirement, normalised (PEP 503 name, sorted lowercase extras)."""

    name: str
    version: str
    extras: tuple[str, ...] = ()

    def __str__(self) -> str:
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        return f"{self.name}{extras}=={self.version}"


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: lowercase, runs of ``-_.`` become one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _explain(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        return "is empty"
    if stripped.startswith("-"):
        return "is a pip option; only 'name==version' pins are allowed"
    if "://" in stripped or stripped.startswith(("git+", "file:")) or " @ " in stripped:
        return "is a URL; only 'name==version' pins from the package index are allowed"
    if "/" in stripped or "\\" in stripped or stripped.startswith("."):
        return "is a path; only 'name==version' pins from the package index are allowed"
    if ";" in stripped:
        return "has an environment marker; markers are not supported"
    if "==" not in stripped or any(
        op in stripped for op in (">=", "<=", "~=", "!=", "===", ">", "<")
    ):
        return "is not pinned; write it as 'name==version'"
    return "is not of the form 'name[extras]==version'"


def parse_requirement(text: str) -> Requirement:
    """Parse one pinned requirement or raise :class:`RequirementError` saying what is wrong.

    >>> str(parse_requirement("Markdown==3.7"))
    'markdown==3.7'
    """
    if not isinstance(text, str):
        raise RequirementError(f"requirement {text!r} must be a string")
    match = _PINNED.match(text.strip())
    if match is None:
        raise RequirementError(f"requirement {text!r} {_explain(text)}")
    extras = tuple(
        sorted({normalize_name(e.strip()) for e in (match["extras"] or "").split(",") if e.strip()})
    )
    return Requirement(normalize_name(match["name"]), match["version"], extras)


def parse_requirements(texts: list[str]) -> list[Requirement]:
    """Parse a requirement list: each entry pinned, at most one pin per package, sorted.

    Raises:
        RequirementError: naming the index of the first bad entry.
    """
    if len(texts) > MAX_REQUIREMENTS:
        raise RequirementError(f"at most {MAX_REQUIREMENTS} requirements are allowed")
    parsed: dict[str, Requirement] = {}
    for index, text in enumerate(texts):
        try:
            req = parse_requirement(text)
        except RequirementError as exc:
            raise RequirementError(f"/requirements/{index}: {exc}") from None
        if req.name in parsed and parsed[req.name] != req:
            raise RequirementError(
                f"/requirements/{index}: {req.name} is pinned twice ({parsed[req.name]} and {req})"
            )
        parsed[req.name] = req
    return sorted(parsed.values())
