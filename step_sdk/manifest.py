"""The step manifest (contract 1): what ``stepwell.json`` at the root of a bundle holds."""

from __future__ import annotations

import re
from typing import Annotated, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from step_sdk.egress import MAX_ENTRIES, EgressEntryError, parse_entry
from step_sdk.requirements import RequirementError
from step_sdk.runtimes import NODE, PYTHON
from step_sdk.runtimes import RUNTIMES as _RUNTIMES
from step_sdk.runtimes import runtime as _runtime

MANIFEST_FILE = "stepwell.json"
RUNTIMES = tuple(_RUNTIMES)

STEP_NAME = re.compile(r"^[a-z][a-z0-9_]*(?:[.-][a-z0-9_]+)*$")
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_NAME = _IDENT
SECRET_NAME_MAX = 100  # the workspace secret store's name column
SECRET_NAME_RULE = (
    f"letters, digits and underscores, not starting with a digit, at most {SECRET_NAME_MAX} long"
)

# A secret value is a credential. Shorter values are refused when stored: redacting every
# occurrence of a few characters would mangle all logs and outputs, and so short a value is
# guessable anyway. Older stored ones are redacted only as whole words (sandbox.redaction).
MIN_SECRET_CHARS = 8


def is_secret_name(name: str) -> bool:
    """Whether ``name`` may name a workspace secret (what manifests declare in ``secrets``)."""
    return bool(SECRET_NAME.match(name)) and len(name) <= SECRET_NAME_MAX


# Every step result crosses Temporal as one payload, which Temporal refuses over 2 MiB (its default
# blob size limit). The result also carries up to 64 KiB of logs, so outputs stop well below that.
MAX_OUTPUT_KB = 1536
# Manifests stored before MAX_OUTPUT_KB was lowered may say up to this; they load, clamped.
_STORED_OUTPUT_KB = 16384
# Validation context for manifests being created (``@step``, build, push): limits are strict.
# Without it (reading a stored manifest or bundle) an output_kb above the maximum is clamped,
# so nothing stored before a limit was lowered can make a read fail.
NEW_MANIFEST = {"new_manifest": True}


def _egress_entry(value: str) -> str:
    try:
        return str(parse_entry(value))
    except EgressEntryError as exc:
        raise ValueError(str(exc)) from None


# One entry of ``egress``, normalized (lower case, the default port dropped); see step_sdk.egress.
EgressEntry = Annotated[str, AfterValidator(_egress_entry)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Strict):
    """Resource limits of one execution; the platform enforces them, never the step."""

    timeout_s: float = Field(30, gt=0, le=900)
    memory_mb: int = Field(256, ge=32, le=4096)
    cpus: float = Field(1.0, gt=0, le=8)
    output_kb: int = Field(1024, ge=1, le=_STORED_OUTPUT_KB)

    @field_validator("output_kb")
    @classmethod
    def _output_kb(cls, value: int, info: ValidationInfo) -> int:
        if value <= MAX_OUTPUT_KB:
            return value
        if info.context and info.context.get("new_manifest"):
            raise ValueError(
                f"output_kb is {value}; the maximum is {MAX_OUTPUT_KB} (a step's result must "
                "fit in one Temporal payload)"
            )
        return MAX_OUTPUT_KB


class RetryPolicy(_Strict):
    """How Temporal retries a failed execution of the step."""

    max_attempts: int = Field(3, ge=1, le=100)
    initial_interval_s: float = Field(1, gt=0, le=3600)
    backoff: float = Field(2.0, ge=1, le=100)
    non_retryable: tuple[str, ...] = ()


class Example(_Strict):
    """An input with the output it must produce."""

    input: Any
    output: Any


def check_schema(schema: dict[str, Any], field: str) -> None:
    """Raise ``ValueError`` naming ``field`` when ``schema`` is not valid JSON Schema 2020-12."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        path = "/".join(str(p) for p in exc.path)
        raise ValueError(f"{field} is not a valid JSON Schema at /{path}: {exc.message}") from None


class Manifest(_Strict):
    """Everything the platform knows about a step version, without running its code."""

    name: str = Field(min_length=1, max_length=128)
    version: str = Field(max_length=64)
    # Before entrypoint and requirements: their grammar depends on the runtime
    # (step_sdk.runtimes); validators see the fields declared before theirs.
    runtime: str = PYTHON
    entrypoint: str = Field(max_length=256)
    title: str = Field("", max_length=200)
    description: str = Field("", max_length=10_000)
    requirements: tuple[str, ...] = ()
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    output_schema: dict[str, Any] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    secrets: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    # Hosts the step may connect to (step_sdk.egress); empty: no network at all.
    egress: tuple[EgressEntry, ...] = Field((), max_length=MAX_ENTRIES)

    @model_validator(mode="after")
    def _runtime_limits(self, info: ValidationInfo) -> Manifest:
        # A runtime's own default memory (step_sdk.runtimes: 1024 MiB for python3.11-browser)
        # when the manifest gives none; an explicit value is kept, within Limits' bounds. After
        # validation, so strict JSON (step.json) is validated as JSON.
        runtime = _RUNTIMES[self.runtime]
        default = runtime.memory_mb
        asked = self.limits.memory_mb
        creating = bool(info.context and info.context.get("new_manifest"))
        # only a manifest being created is held to the minimum: a stored one always reads back
        if (
            creating
            and "memory_mb" in self.limits.model_fields_set
            and asked < runtime.min_memory_mb
        ):
            # raised as a ValidationError so the problem's pointer is /limits/memory_mb
            raise ValidationError.from_exception_data(
                "Manifest",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "value_error",
                            "{runtime} steps need at least {minimum} MiB "
                            "(step_sdk.runtimes), got {value}",
                            {
                                "runtime": runtime.name,
                                "minimum": runtime.min_memory_mb,
                                "value": self.limits.memory_mb,
                            },
                        ),
                        loc=("limits", "memory_mb"),
                        input=self.limits.memory_mb,
                    )
                ],
            )
        if "memory_mb" in self.limits.model_fields_set or self.limits.memory_mb == default:
            return self
        limits = self.limits.model_copy(update={"memory_mb": default})
        return self.model_copy(update={"limits": limits})

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not STEP_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a step name: use dotted lowercase words, e.g. 'text.slugify'"
            )
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _SEMVER.match(value):
            raise ValueError(f"{value!r} is not a semantic version such as '1.2.0'")
        return value

    @field_validator("runtime")
    @classmethod
    def _runtime(cls, value: str) -> str:
        return _runtime(value).name

    @field_validator("entrypoint")
    @classmethod
    def _entrypoint(cls, value: str, info: ValidationInfo) -> str:
        # Without a valid runtime there is no grammar to check against; that error is reported.
        if "runtime" not in info.data:
            return value
        return _runtime(info.data["runtime"]).check_entrypoint(value)

    @field_validator("requirements")
    @classmethod
    def _requirements(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if "runtime" not in info.data:
            return value
        try:
            return _runtime(info.data["runtime"]).normalize_requirements(value)
        except RequirementError as exc:
            raise ValueError(str(exc).split(": ", 1)[-1]) from None

    @field_validator("input_schema", "output_schema")
    @classmethod
    def _schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_schema(value, "schema")
        return value

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not is_secret_name(name):
                raise ValueError(f"{name!r} is not a secret name ({SECRET_NAME_RULE})")
        return tuple(sorted(set(value)))

    @field_validator("egress", mode="before")
    @classmethod
    def _egress_is_a_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(f"egress is a list of hosts, e.g. [{value!r}], not one string")
        # A JSON array arrives as a list; strict validation (step.json) takes only a tuple here.
        return tuple(value) if isinstance(value, list) else value

    @field_validator("egress")
    @classmethod
    def _egress(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        # Node 20's fetch and http ignore HTTP(S)_PROXY, so the egress path of contract 2 (a
        # forwarder on loopback that clients are pointed at) would not reach a JavaScript step's
        # standard clients; until it does, such a step is refused rather than silently offline.
        if value and info.data.get("runtime") == NODE:
            raise ValueError(
                f"egress is not supported for {NODE} steps yet (Node's fetch and http ignore "
                "HTTP_PROXY, so a declared host would be unreachable); remove 'egress'"
            )
        return tuple(sorted(set(value)))

    @property
    def ref(self) -> str:
        """``name@version``, how flows refer to this step."""
        return f"{self.name}@{self.version}"
