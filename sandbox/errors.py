"""Error types of contract 3, as the sandbox reports them."""

from __future__ import annotations

from enum import StrEnum


class ErrorType(StrEnum):
    """The ``type`` a user sees; also the Temporal ``ApplicationError`` type."""

    INPUT_VALIDATION = "InputValidationError"
    OUTPUT_VALIDATION = "OutputValidationError"
    STEP = "StepError"
    TIMEOUT = "StepTimeout"
    MEMORY = "MemoryLimitExceeded"
    OUTPUT_LIMIT = "OutputLimitExceeded"
    DEPENDENCY = "DependencyError"
    SANDBOX = "SandboxError"
    # over an artifact cap (count, size of one, total; step_sdk.artifacts)
    ARTIFACT_LIMIT = "ArtifactLimitExceeded"

    @property
    def retryable(self) -> bool:
        """Whether Temporal should retry this failure (``StepError``/timeouts follow the policy)."""
        return self in (ErrorType.STEP, ErrorType.TIMEOUT, ErrorType.SANDBOX)


class StepwellError(Exception):
    """A failure with a contract-3 type, raised by the sandbox or the layers below it."""

    error_type: ErrorType = ErrorType.SANDBOX

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SandboxError(StepwellError):
    """Infrastructure failure: the Docker daemon is unreachable, an image is missing, ..."""

    error_type = ErrorType.SANDBOX


class DependencyError(StepwellError):
    """A step's requirements cannot be resolved, downloaded or installed."""

    error_type = ErrorType.DEPENDENCY


class ImageBuildError(SandboxError):
    """The base image could not be built; the message says what the operator must do."""
