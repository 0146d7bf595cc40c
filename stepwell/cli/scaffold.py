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

# JavaScript: step.json (the manifest fields, read without running any JS) and step.mjs.
JS_STEP = """// __TITLE__: a Stepwell step in JavaScript (Node.js 20, an ES module).
//
// The default export receives the input (already checked against input_schema in step.json)
// and a context: ctx.log (info, warn, error, debug: to the step's log), ctx.secrets (the
// secrets step.json declares), ctx.runId, ctx.stepId, ctx.attempt and ctx.deadline (a Date).
// What it returns is the output, checked against output_schema.

export default async function __FUNCTION__(input, ctx) {
  const length = [...input.text].length; // characters, not UTF-16 units
  ctx.log.info(`processing ${length} characters`);
  return { text: input.text.toUpperCase(), length };
}
"""


def js_step_json(name: str, title: str) -> dict[str, object]:
    """The scaffold's ``step.json``: a runnable manifest with schemas and an example."""
    return {
        "name": name,
        "version": "0.1.0",
        "title": title,
        "description": "Upper-case a text and count its characters.",
        "entrypoint": "step.mjs",
        "dependencies": {},
        "input_schema": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
            "additionalProperties": False,
        },
        "output_schema": {
            "type": "object",
            "properties": {"text": {"type": "string"}, "length": {"type": "integer"}},
            "required": ["text", "length"],
        },
        "limits": {"timeout_s": 10},
        "egress": [],
        "examples": [
            {"input": {"text": "Hello World"}, "output": {"text": "HELLO WORLD", "length": 11}}
        ],
    }


JS_README = """# {name}

{title}, in JavaScript: `step.mjs` holds the code, `step.json` its name, version, schemas,
npm dependencies (exact versions, e.g. `"dayjs": "1.11.13"`), limits and examples. Try it:

    stepwell step schema .                          # the input and output schemas
    stepwell step run . --input '{{"text": "hi"}}'    # run it in the sandbox
    stepwell step test .                            # run the examples in the sandbox
    stepwell step build .                           # write stepwell.json and the bundle
"""

# A browser step (runtime python3.11-browser): headless Chromium driven by Playwright.
BROWSER_STEP = '''"""{title}: a Stepwell browser step (headless Chromium driven by Playwright)."""

from step_sdk import StepContext, step
from step_sdk.browser import browser


@step(
    name="{name}",
    version="0.1.0",
    # Debian's Chromium and Playwright in the step's container (docs/browser.md); memory_mb
    # defaults to 1024 for this runtime.
    runtime="python3.11-browser",
    timeout_s=60,
    # The hosts the page may load anything from (redirects, iframes, images, WebSockets too).
    # Without egress the browser has no network at all: set_content, data: URLs and files in
    # the step's directory still work. Uncomment to let it open a site:
    # egress=["example.com"],
)
def {function}(html: str, ctx: StepContext) -> dict[str, object]:
    """Render an HTML page, screenshot it and report its title."""
    with browser() as chromium:
        page = chromium.new_page(viewport={{"width": 1280, "height": 800}})
        page.set_content(html)
        shot = page.screenshot(full_page=True)
        # Save it as a run artifact (listed with the run, downloadable):
        # ctx.artifacts.save("page.png", shot, "image/png")
        ctx.logger.info("screenshot: %d bytes", len(shot))
        return {{"title": page.title(), "screenshot_bytes": len(shot)}}
'''

BROWSER_README = """# {name}

{title}: a browser step (runtime python3.11-browser; see docs/browser.md). Try it:

    stepwell step run . --input '{{"html": "<title>hi</title><h1>hi</h1>"}}'
    stepwell step build .                           # write stepwell.json and the bundle
"""
