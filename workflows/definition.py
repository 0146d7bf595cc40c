"""The flow definition (contract 5): what a visual builder saves."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_USES = re.compile(r"^(?P<name>[^@\s]+)@(?P<version>[^@\s]+)$")

# A run that has not ended after this long is ended by Temporal (status ``timed_out``); a flow
# may ask for more or less with ``timeout_s``, never above the operator's maximum
# (``STEPWELL_RUN_TIMEOUT_MAX_S``).
DEFAULT_RUN_TIMEOUT_S = 3600.0
# Far beyond any sane run; only here so that no value overflows Temporal's durations.
LONGEST_RUN_TIMEOUT_S = 366 * 24 * 3600.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FlowRetry(_Strict):
    """A flow's narrowing of a step's retry policy (never above the manifest's)."""

    max_attempts: int | None = Field(None, ge=1, le=100)
    initial_interval_s: float | None = Field(None, gt=0, le=3600)
    backoff: float | None = Field(None, ge=1, le=100)


class FlowStep(_Strict):
    """One step of a flow: which step version it uses and how its input is mapped."""

    id: str
    uses: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    needs: tuple[str, ...] = ()
    if_: str | None = Field(None, alias="if")
    foreach: str | None = None
    concurrency: int = Field(4, ge=1, le=64)
    on_error: Literal["fail", "continue"] = "fail"
    retry: FlowRetry | None = None
    timeout_s: float | None = Field(None, gt=0, le=900)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _STEP_ID.match(value):
            raise ValueError(
                f"{value!r} is not a step id: lowercase letters, digits and '_', "
                "starting with a letter"
            )
        return value

    @field_validator("uses")
    @classmethod
    def _uses(cls, value: str) -> str:
        if not _USES.match(value):
            raise ValueError(f"{value!r} is not of the form 'name@version'")
        return value

    @property
    def step_name(self) -> str:
        return self.uses.split("@", 1)[0]

    @property
    def step_version(self) -> str:
        return self.uses.split("@", 1)[1]


class FlowDefinition(_Strict):
    """A named DAG of steps with an optional output mapping."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    vars: dict[str, Any] = Field(default_factory=dict)
    steps: tuple[FlowStep, ...] = Field(min_length=1, max_length=200)
    output: dict[str, Any] | None = None
    timeout_s: float | None = Field(
        None,
        gt=0,
        le=LONGEST_RUN_TIMEOUT_S,
        description="seconds a run may take in all before it is ended as timed out",
    )

    def run_timeout_s(self, maximum_s: float) -> float:
        """Seconds a run of this flow may take (see :func:`run_timeout_s`)."""
        return run_timeout_s(self.timeout_s, maximum_s)

    def document(self) -> dict[str, Any]:
        """The definition as JSON-ready data, with the builder's field names (``with``, ``if``)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def run_timeout_s(timeout_s: float | None, maximum_s: float) -> float:
    """Seconds a run may take: a flow's ``timeout_s`` (default 1 h), capped at ``maximum_s``
    (the operator's maximum), so a flow saved under a higher maximum still runs, with the
    current one."""
    return min(timeout_s or DEFAULT_RUN_TIMEOUT_S, maximum_s)
