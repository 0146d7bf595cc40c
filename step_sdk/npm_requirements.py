"""Validation of a JavaScript step's npm dependencies (contract 1, contract 4).

A dependency is an exact npm version of a registry package: ``{"dayjs": "1.11.13"}`` in
``step.json``, ``"dayjs@1.11.13"`` in the manifest's ``requirements``. Ranges, dist-tags, URLs,
git, ``file:``/``link:``/``workspace:`` specs and ``npm:`` aliases are refused: each would let the
resolved code change after review or reach outside the host-resolved, script-free install that
keeps dependency installation safe and reproducible.

Package names follow npm's rules for new packages (``validate-npm-package-name``): lower case,
at most 214 characters, ``@scope/name`` or ``name``, URL-safe characters only, not starting with
``.`` or ``_``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from step_sdk.requirements import MAX_REQUIREMENTS, RequirementError
from step_sdk.validation import pointer

MAX_NAME_LENGTH = 214
# What npm's semver accepts as one exact version (no leading "v" or "=", no build metadata:
# npm ignores build metadata when it resolves, so "1.2.3+a" would not mean what it says).
_EXACT_VERSION = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*)?$"
)
_NAME_PART = re.compile(r"^[a-z0-9._-]+$")
_SCOPED = re.compile(r"^@([^/]+)/([^/]+)$")
_BLOCKED_NAMES = ("node_modules", "favicon.ico")
_PROTOCOL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_PARTIAL = re.compile(r"^v?\d+(?:\.\d+)?$")
_EXACT_RULE = "use an exact version such as '1.2.3'"


def name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid npm package name, or ``None`` when it is.

    >>> name_problem("@types/node") is None
    True
    >>> name_problem("Express")
    'package name must be lower case'
    """
    if not isinstance(name, str):
        return "package name must be a string"
    if not name:
        return "package name is empty"
    if name.strip() != name:
        return "package name has leading or trailing white space"
    if len(name) > MAX_NAME_LENGTH:
        return f"package name is {len(name)} characters long; npm allows at most {MAX_NAME_LENGTH}"
    if name.startswith("."):
        return "package name cannot start with a period"
    if name.startswith("_"):
        return "package name cannot start with an underscore"
    if name.lower() != name:
        return "package name must be lower case"
    scoped = _SCOPED.match(name)
    if name.startswith("@") and scoped is None:
        return "a scoped package name is '@scope/name'"
    parts = scoped.groups() if scoped else (name,)
    if scoped and scoped.group(2).startswith((".", "_")):
        return "package name cannot start with a period or an underscore after its scope"
    if not all(_NAME_PART.match(part) for part in parts):
        return (
            "package name can only contain lower-case letters, digits, '-', '.' and '_' "
            "(and '@scope/')"
        )
    if parts[-1] in _BLOCKED_NAMES:
        return f"{parts[-1]!r} is not an allowed package name"
    return None


def version_problem(version: object) -> str | None:
    """Why ``version`` is not one exact npm version, or ``None`` when it is.

    >>> version_problem("1.2.3-beta.1") is None
    True
    >>> version_problem("^1.2.3")
    "'^1.2.3' is a version range; use an exact version such as '1.2.3'"
    """
    if not isinstance(version, str):
        return f"the version must be a string such as '1.2.3', not {type(version).__name__}"
    if _EXACT_VERSION.match(version):
        return None
    text = version.strip()
    lowered = text.lower()
    if not text:
        return f"the version is empty; {_EXACT_RULE}"
    if lowered.startswith(("http://", "https://")):
        return f"{version!r} is a URL; only exact versions from the npm registry are allowed"
    if lowered.startswith(("git+", "git:", "github:", "gitlab:", "bitbucket:", "gist:")):
        return f"{version!r} is a git source; only exact versions from the npm registry are allowed"
    protocol = _PROTOCOL.match(lowered)
    if protocol:
        kind = protocol.group(1)
        if kind == "npm":
            return f"{version!r} is an npm alias; depend on the package by its own name"
        if kind in ("file", "link", "workspace", "portal", "patch"):
            return f"{version!r} is a local {kind}: spec; only packages from the npm registry"
        return f"{version!r} is a {kind}: spec; {_EXACT_RULE}"
    if "/" in text or "\\" in text or text.startswith((".", "~/")):
        if re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:#.*)?$", text) and not text.startswith(
            "."
        ):
            return f"{version!r} is a GitHub 'user/repo' spec; {_EXACT_RULE}"
        return f"{version!r} is a path; only exact versions from the npm registry are allowed"
    if text.startswith(("v", "=")) and _EXACT_VERSION.match(text.lstrip("v=").strip()):
        return f"{version!r}: write the bare version {text.lstrip('v=').strip()!r}"
    if "+" in text and _EXACT_VERSION.match(text.split("+", 1)[0]):
        return f"{version!r} has build metadata, which npm ignores; write {text.split('+', 1)[0]!r}"
    if any(c in text for c in "^~<>*|") or " - " in text or re.search(r"(^|\.)[xX](\.|$)", text):
        return f"{version!r} is a version range; {_EXACT_RULE}"
    if _PARTIAL.match(text):
        return f"{version!r} is a partial version (a range to npm); {_EXACT_RULE}"
    if re.match(r"^[A-Za-z][A-Za-z0-9._-]*$", text):
        return f"{version!r} is a dist-tag, which can move; {_EXACT_RULE}"
    return f"{version!r} is not an exact version; {_EXACT_RULE}"


def parse_dependencies(dependencies: object, where: str = "/dependencies") -> tuple[str, ...]:
    """``step.json``'s ``dependencies`` object as sorted ``name@version`` requirements.

    Raises:
        RequirementError: not an object, too many entries, or a bad entry; the message starts
            with the entry's JSON pointer (``/dependencies/@scope~1pkg: ...``).
    """
    if not isinstance(dependencies, Mapping):
        raise RequirementError(
            f'{where}: dependencies is an object of exact versions, e.g. {{"dayjs": "1.11.13"}}'
        )
    if len(dependencies) > MAX_REQUIREMENTS:
        raise RequirementError(f"{where}: at most {MAX_REQUIREMENTS} dependencies are allowed")
    requirements = []
    for name, version in dependencies.items():
        at = pointer([name], where)
        problem = name_problem(name) or version_problem(version)
        if problem:
            raise RequirementError(f"{at}: {problem}")
        requirements.append(f"{name}@{version}")
    return tuple(sorted(requirements))


def split_requirement(text: str) -> tuple[str, str]:
    """``"@scope/pkg@1.0.0"`` -> ``("@scope/pkg", "1.0.0")``; no check of either part."""
    name, separator, version = text.rpartition("@")
    if not separator or not name:
        raise RequirementError(f"requirement {text!r} is not of the form 'name@version'")
    return name, version


def parse_requirements(texts: Sequence[Any]) -> tuple[str, ...]:
    """A manifest's node ``requirements`` (``name@version`` strings), checked and sorted.

    Raises:
        RequirementError: naming ``/requirements/<index>`` of the first bad entry.
    """
    if len(texts) > MAX_REQUIREMENTS:
        raise RequirementError(f"at most {MAX_REQUIREMENTS} requirements are allowed")
    seen: dict[str, str] = {}
    for index, text in enumerate(texts):
        try:
            if not isinstance(text, str):
                raise RequirementError(f"requirement {text!r} must be a string")
            name, version = split_requirement(text)
            problem = name_problem(name) or version_problem(version)
            if problem:
                raise RequirementError(f"requirement {text!r}: {problem}")
        except RequirementError as exc:
            raise RequirementError(f"/requirements/{index}: {exc}") from None
        if name in seen and seen[name] != version:
            raise RequirementError(
                f"/requirements/{index}: {name} is pinned twice ({seen[name]} and {version})"
            )
        seen[name] = version
    return tuple(sorted(f"{name}@{version}" for name, version in seen.items()))
