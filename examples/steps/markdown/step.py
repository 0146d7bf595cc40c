"""text.markdown_to_html: render Markdown to an HTML fragment with Python-Markdown."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

from step_sdk import step

# Python-Markdown's bundled extensions that need nothing else installed.
Extension = Literal[
    "abbr",
    "admonition",
    "attr_list",
    "def_list",
    "fenced_code",
    "footnotes",
    "md_in_html",
    "nl2br",
    "sane_lists",
    "smarty",
    "tables",
    "toc",
]


class Html(TypedDict):
    """The rendered fragment (no ``<html>`` or ``<body>`` wrapper)."""

    html: str


@step(
    name="text.markdown_to_html",
    version="1.0.1",
    title="Markdown to HTML",
    requirements=["Markdown==3.7"],
    timeout_s=10,
    output_kb=1536,
    examples=[
        {
            "input": {"text": "# Hello\n\nSome *emphasis* and **bold** text."},
            "output": {
                "html": "<h1>Hello</h1>\n<p>Some <em>emphasis</em> and <strong>bold</strong> "
                "text.</p>"
            },
        },
        {
            "input": {"text": "| a | b |\n|---|---|\n| 1 | 2 |", "extensions": ["tables"]},
            "output": {
                "html": "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n"
                "<tbody>\n<tr>\n<td>1</td>\n<td>2</td>\n</tr>\n</tbody>\n</table>"
            },
        },
        {
            "input": {"text": "Hi <b>there</b>\n\n<script>alert(1)</script>"},
            "output": {
                "html": "<p>Hi &lt;b&gt;there&lt;/b&gt;</p>\n"
                "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
            },
        },
    ],
)
def markdown_to_html(
    text: Annotated[str, Field(max_length=1_000_000)],
    extensions: tuple[Extension, ...] = (),
    allow_html: bool = False,
) -> Html:
    """Convert Markdown ``text`` to HTML with the chosen built-in ``extensions``.

    Raw HTML in the text is escaped unless ``allow_html`` is true. Links are kept as written, so
    sanitise the result before showing untrusted input in a browser.
    """
    # Imported here, not at the top: `stepwell step build` imports this module on the author's
    # machine to read the decorator, where the requirement need not be installed.
    import markdown  # type: ignore[import-not-found,import-untyped,unused-ignore]

    renderer = markdown.Markdown(extensions=list(extensions), output_format="html")
    if not allow_html:
        # The documented way to escape raw HTML: drop the block and inline HTML handlers.
        renderer.preprocessors.deregister("html_block")
        renderer.inlinePatterns.deregister("html")
    html: str = renderer.convert(text)
    return {"html": html}
