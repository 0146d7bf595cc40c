"""How the worker gets the secrets a step declared, at execution time (never via history).

Redacting them from what the step sends back is the sandbox's job (``sandbox.redaction``): it
sees the raw log bytes, before they are escaped or cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


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
