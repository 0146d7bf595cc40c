"""Errors the SDK raises; the runner reports ``stepwell_error_type`` as the contract-3 type."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One validation problem: where (a JSON pointer) and what."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class StepDefinitionError(TypeError):
    """A ``@step`` function cannot be turned into a step (raised at decoration time)."""


class InputValidationError(ValueError):
    """The input does not match the step's input schema."""

    stepwell_error_type = "InputValidationError"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems) or "invalid input")


class OutputValidationError(ValueError):
    """The step's return value does not match its output schema or is not JSON."""

    stepwell_error_type = "OutputValidationError"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems) or "invalid output")
