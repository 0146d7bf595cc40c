"""The cold path's start: a container created for one execution skips the runner's preload."""

from __future__ import annotations

from tests.sandbox.conftest import RunStep

PRELOADED = ("jsonschema", "pydantic", "step_sdk")


def test_a_cold_step_that_needs_no_sdk_does_not_import_it(run_step: RunStep) -> None:
    result = run_step(
        f"""
        import sys

        def main():
            return [name for name in {PRELOADED!r} if name in sys.modules]
        """
    )
    assert result.ok, result.error
    assert result.output == []


def test_a_cold_step_still_imports_the_sdk_and_its_libraries(run_step: RunStep) -> None:
    result = run_step(
        """
        from pydantic import BaseModel
        from step_sdk import StepContext

        class Lead(BaseModel):
            company: str

        def main():
            return [Lead(company="acme").company, StepContext.__name__]
        """
    )
    assert result.ok, result.error
    assert result.output == ["acme", "StepContext"]


def test_values_json_cannot_carry_are_refused_in_the_container_without_the_sdk(
    run_step: RunStep,
) -> None:
    """Without the SDK imported, the runner still checks (step_sdk.json_values, loaded alone)."""
    result = run_step(
        """
        import sys

        def main():
            return {"sdk": "step_sdk" in sys.modules, "x": float("nan")}
        """
    )
    assert result.error is not None
    assert result.error.type == "OutputValidationError"
    assert "/x" in result.error.message
