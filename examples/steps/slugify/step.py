"""text.slugify: turn any title into a URL-safe ASCII slug (standard library only)."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from step_sdk import step

# Letters that Unicode decomposition does not reduce to ASCII, spelled the usual way.
_TRANSLITERATE = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
        "Þ": "TH",
    }
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


class Slug(TypedDict):
    """The slug, possibly empty when the text holds no letters or digits."""

    slug: str


@step(
    name="text.slugify",
    version="1.0.0",
    title="Slugify text",
    timeout_s=5,
    examples=[
        {"input": {"text": "Hello, World!"}, "output": {"slug": "hello-world"}},
        {
            "input": {"text": "Crème Brûlée à la carte", "separator": "_"},
            "output": {"slug": "creme_brulee_a_la_carte"},
        },
        {
            "input": {"text": "Straße nach Köln: die schönsten Orte", "max_len": 20},
            "output": {"slug": "strasse-nach-koln"},
        },
    ],
)
def slugify(
    text: Annotated[str, Field(max_length=10_000)],
    max_len: Annotated[int, Field(ge=1, le=500)] = 60,
    separator: Annotated[str, Field(min_length=1, max_length=3, pattern=r"^[-_.~]+$")] = "-",
) -> Slug:
    """Lower-case ASCII words joined by ``separator``, at most ``max_len`` characters.

    Accents are removed by Unicode NFKD decomposition (``é`` becomes ``e``), a few letters with no
    decomposition are transliterated (``ß`` becomes ``ss``), and every run of other characters
    becomes one separator. A slug longer than ``max_len`` is cut at the last whole word that fits;
    a single word longer than ``max_len`` is cut at ``max_len``.
    """
    ascii_text = (
        unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
        .encode("ascii", "ignore")
        .decode("ascii")
        .lower()
    )
    words = [w for w in _NOT_ALNUM.split(ascii_text) if w]
    slug = ""
    for word in words:
        candidate = f"{slug}{separator}{word}" if slug else word
        if len(candidate) > max_len:
            if not slug:
                slug = word[:max_len]
            break
        slug = candidate
    return {"slug": slug}
