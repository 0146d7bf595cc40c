"""web.form: fill a web form in headless Chromium, submit it, return the confirmation text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field
from typing_extensions import TypedDict

from step_sdk import StepContext, step
from step_sdk.browser import browser

if TYPE_CHECKING:
    from playwright.sync_api import Response

PROXY_REFUSAL = "stepwell egress proxy: "  # how the proxy words its own answers
SCREENSHOT = "confirmation.png"
MAX_TEXT = 4000  # characters of confirmation text returned
Label = Annotated[str, Field(min_length=1, max_length=200)]
Value = Annotated[str, Field(max_length=10_000)]


def refused_by_proxy(response: Response | None) -> str | None:
    """The egress proxy's reason when it answered a plain-HTTP page itself (a host the step may
    not reach, a cap reached); an HTTPS page it refuses fails to load instead."""
    if response is None or response.status < 400:
        return None
    if not response.headers.get("content-type", "").startswith("text/plain"):
        return None
    text = response.text()
    return text.strip() if text.startswith(PROXY_REFUSAL) else None


class Submitted(TypedDict):
    """The page after submitting: its URL, its title and the confirmation's text."""

    url: str
    title: str
    confirmation: str


@step(
    name="web.form",
    version="1.0.0",
    title="Fill and submit a web form",
    runtime="python3.11-browser",
    egress=["*", "*:80"],
    timeout_s=60,
)
def fill_form(
    url: Annotated[str, Field(pattern=r"^https?://", max_length=8192)],
    fields: Annotated[dict[Label, Value], Field(min_length=1, max_length=50)],
    ctx: StepContext,
    submit: Annotated[str, Field(min_length=1, max_length=200)] = "Submit",
    confirmation: Annotated[str, Field(min_length=1, max_length=500)] = "body",
    screenshot: bool = True,
) -> Submitted:
    """Open ``url``, type each value of ``fields`` into the form field whose label is its key
    (the text of its ``<label>``, or its ``aria-label``: what a person reads, not the page's
    markup), press the button named ``submit`` and return the text of the first element that
    matches the CSS selector ``confirmation`` (say ``#thanks`` or ``[role=status]``; the default
    is the whole page) once the page that follows has loaded, with its white space collapsed and
    cut at 4000 characters. With ``screenshot``, that page is saved as the run artifact
    ``confirmation.png``.

    A field or button that is not on the page, or a confirmation that does not appear within 20
    s, is an error naming it. The page can reach only the step's egress hosts, as in
    ``web.screenshot``.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # in the browser image

    with browser() as chromium:
        page = chromium.new_page()
        page.set_default_timeout(20_000)
        if refusal := refused_by_proxy(page.goto(url, wait_until="load", timeout=30_000)):
            raise ConnectionError(f"{url}: {refusal}")
        for label, value in fields.items():
            field = page.get_by_label(label, exact=True)
            if field.count() != 1:
                raise ValueError(f"fields: {field.count()} form fields are labelled {label!r}")
            field.fill(value)
        button = page.get_by_role("button", name=submit, exact=True)
        if button.count() != 1:
            raise ValueError(f"submit: {button.count()} buttons are named {submit!r}")
        button.click()  # returns once a navigation it started has begun
        page.wait_for_load_state("load")
        shown = page.locator(confirmation).first
        try:
            shown.wait_for(state="visible")
        except PlaywrightTimeout:
            raise ValueError(f"confirmation: nothing matching {confirmation!r} appeared") from None
        text = " ".join(shown.inner_text().split())[:MAX_TEXT]
        if screenshot:
            ctx.artifacts.save(SCREENSHOT, page.screenshot(type="png"), "image/png")
        return {"url": page.url, "title": page.title(), "confirmation": text}
