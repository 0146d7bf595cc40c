"""Templates of ``stepwell step new``."""

from __future__ import annotations

STEP = '''"""{title}: a Stepwell step."""

from step_sdk import StepContext, step


@step(
    name="{name}",
    version="0.1.0",
    timeout_s=10,
    # Hosts the step may connect to ("host" or "host:port"; 443 unless given). Without egress
    # the step has no network at all. Uncomment to let it call an API:
    # egress=["api.example.com"],
    examples=[
        {{"input": {{"text": "Hello World"}}, "output": {{"text": "HELLO WORLD", "length": 11}}}},
    ],
)
def {function}(text: str, ctx: StepContext) -> dict[str, object]:
    """Upper-case a text and count its characters."""
    ctx.logger.info("processing %d characters", len(text))
    return {{"text": text.upper(), "length": len(text)}}
'''

TEST = '''"""Fast, in-process tests of {name} (not isolated: see step_sdk.testing)."""

import pytest

from step import {function}
from step_sdk import InputValidationError
from step_sdk.testing import call


def test_upper_cases_the_text() -> None:
    assert call({function}, {{"text": "abc"}}) == {{"text": "ABC", "length": 3}}


def test_refuses_input_without_text() -> None:
    with pytest.raises(InputValidationError):
        call({function}, {{}})
'''

README = """# {name}

{title}. Try it:

    stepwell step schema .                          # the input and output schemas
    stepwell step run . --input '{{"text": "hi"}}'    # run it in the sandbox
    stepwell step test .                            # run the examples in the sandbox
    stepwell step build .                           # write stepwell.json and the bundle
    pytest                                          # fast in-process unit tests
"""
