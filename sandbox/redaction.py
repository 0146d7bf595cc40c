"""Removing secret values, and their common encodings, from what a step sends back.

A step that received a secret may print it, return it, raise with it or encode it first (``echo
$TOKEN | base64``, a URL query, a hex dump, a JSON string). :class:`Redactor` replaces each value
and each of those encodings with :data:`REDACTED`. It works on decoded text *before* control
characters are escaped (an escaped ``\\r`` would no longer match) and before anything is cut (a
cut would leave part of a value); :meth:`Redactor.trim_partial` removes what a cut left of one.

Values shorter than :data:`MIN_SECRET_CHARS` are redacted only where they stand as a whole word
and without their encodings: replacing every occurrence of ``"ab"`` would mangle every log while
protecting nothing (so short a value is guessable anyway). The API refuses to store them.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from step_sdk.manifest import MIN_SECRET_CHARS

REDACTED = "[redacted]"
_B64 = (base64.b64encode, base64.urlsafe_b64encode)
_PERCENT = re.compile(r"%[0-9A-F]{2}")


def _base64_forms(data: bytes) -> set[str]:
    """Base64 (standard and URL-safe, with and without padding) of ``data``, and the part of its
    encoding that is the same wherever ``data`` stands inside a longer encoded text."""
    forms: set[str] = set()
    for encode in _B64:
        full = encode(data).decode("ascii")
        forms.update({full, full.rstrip("=")})
        for offset in range(3):  # data starting at byte 0, 1 or 2 of a 3-byte group
            encoded = encode(b"\0" * offset + data).decode("ascii")
            first = -(-8 * offset // 6)  # first character made of data bits only
            last = 8 * (offset + len(data)) // 6
            forms.add(encoded[first:last])
    return forms


def encodings(value: str) -> set[str]:
    """``value`` and the forms it commonly takes in logs and outputs (at least
    :data:`MIN_SECRET_CHARS` long each)."""
    forms = {value, value.strip()}
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:  # not text: only the value itself can appear
        return {value}
    for data in (raw, raw + b"\n"):  # `echo $SECRET | base64` encodes the newline too
        forms |= _base64_forms(data)
    forms |= {raw.hex(), raw.hex().upper()}
    for url in (quote(value, safe=""), quote(value), quote_plus(value)):
        forms |= {url, _PERCENT.sub(lambda m: m.group().lower(), url)}
    forms |= {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    return {form for form in forms if len(form) >= MIN_SECRET_CHARS}


class Redactor:
    """Replaces secret values (and their encodings) in text and in JSON data.

    Example::

        Redactor(["tok_7Hq2xV9s"]).text("token=dG9rXzdIcTJ4Vjlz")  # 'token=[redacted]'
    """

    def __init__(self, values: Iterable[str]) -> None:
        long_forms: set[str] = set()
        words: set[str] = set()
        for value in values:
            if len(value) >= MIN_SECRET_CHARS:
                long_forms |= encodings(value)
            elif value:
                words.add(value)
        # Longest first, so a form containing a shorter one is replaced whole. Plain replacing,
        # not one big regex: compiling a pattern from a key-file-sized secret takes seconds.
        self.needles = sorted(long_forms, key=len, reverse=True)
        short = [rf"(?<!\w){re.escape(w)}(?!\w)" for w in sorted(words, key=len, reverse=True)]
        self._words = re.compile("|".join(short)) if short else None
        self.longest = max(map(len, self.needles), default=0)

    def __bool__(self) -> bool:
        return bool(self.needles) or self._words is not None

    def text(self, text: str) -> str:
        """``text`` with every secret form replaced by :data:`REDACTED`."""
        for needle in self.needles:
            if needle in text:
                text = text.replace(needle, REDACTED)
        if self._words is not None:
            text = self._words.sub(REDACTED, text)
        return text

    def value(self, value: Any) -> Any:
        """JSON data with every string (keys included) redacted."""
        if not self:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def trim_partial(self, text: str, *, start: bool = False, end: bool = False) -> str:
        """Drop what a cut left of a secret form: at ``start``, a leading end piece of one; at
        ``end``, a trailing beginning of one (e.g. a value being written when a tail is taken).

        Call it on already redacted text whose start and/or end is a cut.
        """
        if start:
            text = text[self._overlap(text, at_start=True) :]
        if end:
            cut = self._overlap(text, at_start=False)
            text = text[: len(text) - cut]
        return text

    def _overlap(self, text: str, *, at_start: bool) -> int:
        """Length of the longest piece of a needle (not all of it) at the text's edge.

        Only places in a needle holding the edge character are tried, so a long secret (a key
        file) costs about its length, not its square.
        """
        if not text:
            return 0
        best = 0
        for needle in self.needles:
            if at_start:  # a proper suffix needle[p:] that starts the text
                p = needle.find(text[0], 1)
                while p != -1 and len(needle) - p > best:
                    if text.startswith(needle[p:]):
                        best = len(needle) - p
                        break
                    p = needle.find(text[0], p + 1)
            else:  # a proper prefix needle[:q + 1] that ends the text
                q = needle.rfind(text[-1], 0, len(needle) - 1)
                while q != -1 and q + 1 > best:
                    if text.endswith(needle[: q + 1]):
                        best = q + 1
                        break
                    q = needle.rfind(text[-1], 0, q)
        return best
