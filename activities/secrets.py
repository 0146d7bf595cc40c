"""How the worker gets the secrets a step declared, at execution time (never via history)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

REDACTED = "[redacted]"


class SecretProvider(Protocol):
    """Looks up a workspace's secrets by name."""

    def resolve(self, workspace_id: str, names: Sequence[str]) -> dict[str, str]:
        """The values of those of ``names`` that the workspace has."""


class NoSecrets:
    """For local runs without a secret store: steps get no secrets."""

    def resolve(self, workspace_id: str, names: Sequence[str]) -> dict[str, str]:
        return {}


class StaticSecrets:
    """Secrets from a mapping ``{workspace_id: {name: value}}`` (tests, local runs)."""

    def __init__(self, values: Mapping[str, Mapping[str, str]]) -> None:
        self._values = values

    def resolve(self, workspace_id: str, names: Sequence[str]) -> dict[str, str]:
        available = self._values.get(workspace_id, {})
        return {name: available[name] for name in names if name in available}


def redact(value: Any, secrets: Mapping[str, str]) -> Any:
    """``value`` with every occurrence of a secret's value replaced, deep in JSON data."""
    needles = sorted((v for v in secrets.values() if v), key=len, reverse=True)
    if not needles:
        return value

    def scrub(item: Any) -> Any:
        if isinstance(item, str):
            for needle in needles:
                item = item.replace(needle, REDACTED)
            return item
        if isinstance(item, dict):
            return {scrub(k): scrub(v) for k, v in item.items()}
        if isinstance(item, list):
            return [scrub(v) for v in item]
        return item

    return scrub(value)
