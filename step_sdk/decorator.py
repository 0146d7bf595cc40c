"""The ``@step`` decorator: a typed Python function becomes a Stepwell step."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, ParamSpec, TypeVar, overload

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from step_sdk.context import StepContext
from step_sdk.errors import (
    InputValidationError,
    OutputValidationError,
    Problem,
    StepDefinitionError,
)
from step_sdk.json_values import json_value_problems
from step_sdk.manifest import NEW_MANIFEST, Limits, Manifest, RetryPolicy, check_schema
from step_sdk.runtimes import PYTHON, RUNTIMES, is_python
from step_sdk.schema import Signature
from step_sdk.validation import pointer, schema_problems

P = ParamSpec("P")
R = TypeVar("R")
DEFAULT_VERSION = "0.1.0"


def _problems(error: ValidationError, prefix: str = "") -> list[Problem]:
    return [
        Problem(
            pointer([p for p in err["loc"] if p != "__root__"], prefix),
            str(err["msg"]).removeprefix("Value error, "),
        )
        for err in error.errors()
    ]


def _egress_option(value: Any) -> Any:
    """``egress`` as the manifest takes it (the manifest validates each entry).

    Raises:
        ValueError: a lone string, which ``tuple()`` would split into its letters.
    """
    if value is None:
        return ()
    if isinstance(value, str | bytes):
        raise ValueError(f"/egress: must be a list of hosts, e.g. [{value!r}], not one string")
    return tuple(value) if isinstance(value, Sequence) else value


def _entrypoint(function: Callable[..., Any]) -> str:
    """``module:function``; a script run as ``__main__`` gets its real module name at build."""
    module = function.__module__ or "step"
    if module == "__main__" or not module.replace(".", "").replace("_", "a").isalnum():
        module = "step"
    return f"{module}:{function.__name__}"


class Step(Generic[P, R]):
    """A decorated step function. Calling it calls the function, unchanged and in-process."""

    __name__: str  # copied from the function by functools.update_wrapper

    def __init__(self, function: Callable[P, R], options: dict[str, Any]) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.signature = Signature(function)
        name = options.get("name") or re.sub(r"[^a-z0-9_.]", "_", function.__name__.lower())
        explicit_input = options.get("input_schema")
        explicit_output = options.get("output_schema")
        for schema, label in ((explicit_input, "input_schema"), (explicit_output, "output_schema")):
            if schema is not None:
                try:
                    check_schema(schema, label)
                except ValueError as exc:
                    raise StepDefinitionError(f"{function.__qualname__}: {exc}") from None
        retry = options.get("retry") or {}
        try:
            egress = _egress_option(options.get("egress"))
        except ValueError as exc:
            raise StepDefinitionError(f"{function.__qualname__}: {exc}") from None
        try:
            runtime = _python_runtime(options.get("runtime"))
        except StepDefinitionError as exc:
            raise StepDefinitionError(f"{function.__qualname__}: {exc}") from None
        try:
            self.manifest = Manifest.model_validate(
                {
                    "name": name,
                    "version": options.get("version") or DEFAULT_VERSION,
                    "runtime": runtime,
                    "entrypoint": _entrypoint(function),
                    "title": options.get("title")
                    or name.rsplit(".", 1)[-1].replace("_", " ").title(),
                    "description": options.get("description") or (function.__doc__ or "").strip(),
                    "requirements": tuple(options.get("requirements") or ()),
                    "input_schema": explicit_input or self.signature.input_schema(),
                    "output_schema": explicit_output or self.signature.output_schema_document(),
                    "limits": {
                        k: options[k] for k in Limits.model_fields if options.get(k) is not None
                    },
                    "retry": retry.model_dump() if isinstance(retry, RetryPolicy) else dict(retry),
                    "secrets": tuple(options.get("secrets") or ()),
                    "examples": tuple(options.get("examples") or ()),
                    "egress": egress,
                },
                context=NEW_MANIFEST,
            )
        except ValidationError as exc:
            problems = "; ".join(str(p) for p in _problems(exc))
            raise StepDefinitionError(f"{function.__qualname__}: {problems}") from None

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.function(*args, **kwargs)

    def invoke(
        self,
        payload: Any,
        context: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> Any:
        """Validate ``payload``, call the function and return its output as JSON-ready data.

        This is what the in-container runner calls. Raises :class:`InputValidationError` or
        :class:`OutputValidationError`; anything the function raises propagates unchanged.
        """
        manifest = self.manifest
        if not isinstance(payload, dict):
            raise InputValidationError([Problem("", "the input must be a JSON object")])
        problems = schema_problems(manifest.input_schema, payload)
        if problems:
            raise InputValidationError(problems)
        try:
            validated = self.signature.input_model.model_validate(payload)
        except ValidationError as exc:
            raise InputValidationError(_problems(exc)) from None
        arguments = {name: getattr(validated, name) for name in self.signature.parameters}
        if self.signature.context_parameter:
            arguments[self.signature.context_parameter] = StepContext.from_envelope(
                context or {}, secrets or {}, manifest.secrets
            )
        result = self.function(**arguments)  # type: ignore[call-arg]
        if type(result).__name__ == "coroutine":  # an ``async def`` step runs to its end here
            import asyncio  # only then: it would cost every step's start

            result = asyncio.run(result)  # type: ignore[arg-type]
        return self._serialise(result)

    def _serialise(self, result: Any) -> Any:
        # Before pydantic: its JSON mode turns some NaNs into null, silently changing the value.
        try:
            plain = to_jsonable_python(result)
        except Exception:  # e.g. a key pydantic cannot encode: look at the value as it is
            plain = result
        unjsonable = json_value_problems(plain)
        if unjsonable:
            raise OutputValidationError([Problem(where, what) for where, what in unjsonable])
        adapter = self.signature.output_adapter
        try:
            output = adapter.dump_python(adapter.validate_python(result), mode="json")
        except ValidationError as exc:
            raise OutputValidationError(_problems(exc)) from None
        except Exception as exc:  # pydantic raises several types for unserialisable values
            raise OutputValidationError([Problem("", f"the output is not JSON: {exc}")]) from None
        output = to_jsonable_python(output)
        unjsonable = json_value_problems(output)
        if unjsonable:
            raise OutputValidationError([Problem(where, what) for where, what in unjsonable])
        problems = schema_problems(self.manifest.output_schema, output)
        if problems:
            raise OutputValidationError(problems)
        return output

    # The runner looks for this attribute; a plain function is called with the input's keys.
    __stepwell_invoke__ = invoke


@overload
def step(function: Callable[P, R], /) -> Step[P, R]: ...


@overload
def step(
    *,
    name: str | None = None,
    version: str | None = None,
    title: str | None = None,
    description: str | None = None,
    requirements: Sequence[str] = (),
    timeout_s: float | None = None,
    memory_mb: int | None = None,
    cpus: float | None = None,
    output_kb: int | None = None,
    retry: Mapping[str, Any] | RetryPolicy | None = None,
    secrets: Sequence[str] = (),
    examples: Sequence[Mapping[str, Any]] = (),
    input_schema: dict[str, Any] | None = None,
    output_schema: dict[str, Any] | None = None,
    egress: Sequence[str] = (),
    runtime: str | None = None,
) -> Callable[[Callable[P, R]], Step[P, R]]: ...


def step(function: Callable[P, R] | None = None, /, **options: Any) -> Any:
    """Turn a typed function into a step. Works bare and with keyword-only options.

    Example::

        from step_sdk import step

        @step(name="text.slugify", version="1.0.0", timeout_s=5,
              examples=[{"input": {"text": "Hello World"}, "output": "hello-world"}])
        def slugify(text: str, max_len: int = 60) -> str:
            "Lowercase, hyphen-separated, ASCII."
            return "-".join(text.lower().split())[:max_len]

        slugify("Hello World")  # still a plain call: 'hello-world'

    Options: ``name`` (default: the function's name), ``version`` (semver, default 0.1.0),
    ``title``, ``description`` (default: the docstring), ``requirements`` (``name==version``
    pins), ``timeout_s``, ``memory_mb``, ``cpus``, ``output_kb``, ``retry`` (``max_attempts``,
    ``initial_interval_s``, ``backoff``, ``non_retryable``), ``secrets`` (names the step may
    receive), ``examples`` (``{"input", "output"}`` pairs), ``egress`` (the hosts the step may
    connect to, ``host`` or ``host:port``, e.g. ``["api.github.com", "hooks.example.com:8443"]``;
    see :mod:`step_sdk.egress`; default: no network at all), and ``input_schema`` /
    ``output_schema`` to override the schemas derived from the type hints, and ``runtime``:
    ``python3.11`` (the default) or ``python3.11-browser`` (Chromium and Playwright in the
    container, see :mod:`step_sdk.browser`; its default ``memory_mb`` is 1024).

    Raises:
        StepDefinitionError: at decoration time, naming the parameter or option at fault (a
            malformed egress entry as ``/egress/<index>: <what is wrong>``).
    """
    unknown = set(options) - set(_OPTIONS)
    if unknown:
        raise StepDefinitionError(f"unknown @step option(s): {', '.join(sorted(unknown))}")
    if function is not None:
        return Step(function, options)
    return lambda fn: Step(fn, options)


_OPTIONS = (
    "name", "version", "title", "description", "requirements", "timeout_s", "memory_mb", "cpus",
    "output_kb", "retry", "secrets", "examples", "input_schema", "output_schema", "egress",
    "runtime",
)  # fmt: skip


def _python_runtime(value: Any) -> Any:
    """The ``runtime`` option: a Python runtime (a decorated function is Python).

    Raises:
        StepDefinitionError: another language's runtime, naming the Python ones.
    """
    if value is None:
        return PYTHON
    if isinstance(value, str) and value in RUNTIMES and not is_python(value):
        python = ", ".join(name for name in RUNTIMES if is_python(name))
        raise StepDefinitionError(
            f"/runtime: {value!r} is not a Python runtime; a @step function runs on one of {python}"
        )
    return value
