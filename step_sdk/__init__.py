"""The Stepwell step SDK: what a step author installs and imports.

Imports with only pydantic and jsonschema installed: no Temporal, Docker, FastAPI or database.

    from step_sdk import step, StepContext

    @step
    def slugify(text: str, max_len: int = 60) -> str:
        return "-".join(text.lower().split())[:max_len]
"""

from step_sdk.context import StepContext
from step_sdk.decorator import Step, step
from step_sdk.errors import (
    InputValidationError,
    OutputValidationError,
    Problem,
    StepDefinitionError,
)
from step_sdk.manifest import Limits, Manifest, RetryPolicy

__all__ = [
    "InputValidationError",
    "Limits",
    "Manifest",
    "OutputValidationError",
    "Problem",
    "RetryPolicy",
    "Step",
    "StepContext",
    "StepDefinitionError",
    "step",
]
