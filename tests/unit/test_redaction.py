"""Secret values and their common encodings are redacted before escaping and before any cut."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote, quote_plus

import pytest

from sandbox.log_tail import LiveTail
from sandbox.redaction import REDACTED, Redactor

SECRET = "tok_7Hq2xV9s+/=&é\r"


def _forms(value: str) -> list[str]:
    raw = value.encode()
    return [
        value,
        value.strip(),
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.b64encode(raw + b"\n").decode(),  # `echo $SECRET | base64`
        base64.urlsafe_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        quote(value, safe=""),
        re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(value, safe="")),
        quote_plus(value),
        raw.hex(),
        raw.hex().upper(),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    ]


@pytest.mark.parametrize("form", _forms(SECRET))
def test_each_common_encoding_is_redacted(form: str) -> None:
    text = Redactor([SECRET]).text(f"before {form} after")
    assert text == f"before {REDACTED} after"


@pytest.mark.parametrize("prefix", [b"", b"A", b"Authorization: Bearer "])
def test_base64_of_a_longer_text_holding_the_secret_hides_it(prefix: bytes) -> None:
    encoded = base64.b64encode(prefix + SECRET.encode() + b" tail").decode()
    redacted = Redactor([SECRET]).text(encoded)
    assert REDACTED in redacted
    # What is left cannot be decoded back into the secret at any alignment.
    for piece in redacted.split(REDACTED):
        for start in range(4):
            chunk = piece[start:]
            decoded = base64.b64decode(chunk[: len(chunk) // 4 * 4] or b"", validate=False)
            assert SECRET.strip().encode()[:8] not in decoded


def test_short_values_are_redacted_only_as_whole_words() -> None:
    redactor = Redactor(["1234"])
    assert redactor.text("pin 1234, order 123456") == f"pin {REDACTED}, order 123456"
    assert Redactor(["1234"]).text(base64.b64encode(b"1234").decode()) == "MTIzNA=="


def test_json_data_is_redacted_in_keys_and_values() -> None:
    value = {SECRET: [f"x{SECRET}y", 1, None]}
    assert Redactor([SECRET]).value(value) == {REDACTED: [f"x{REDACTED}y", 1, None]}


def test_cut_edges_lose_what_is_left_of_a_secret() -> None:
    redactor = Redactor(["0123456789abcdefghij"])
    assert redactor.trim_partial("log line 0123456789", end=True) == "log line "
    assert redactor.trim_partial("abcdefghij more", start=True) == " more"
    assert redactor.trim_partial("nothing here", start=True, end=True) == "nothing here"


def test_live_tail_never_shows_part_of_a_secret_written_in_pieces() -> None:
    secret = "0123456789abcdefghij"
    tail = LiveTail(Redactor([secret]), max_chars=40)
    tail.feed(b"token: 0123456789")  # the step is half-way through printing it
    assert "0123456789" not in tail.text()
    tail.feed(b"abcdefghij\r\n")
    assert tail.text() == f"token: {REDACTED}\\x0d\n"


def test_live_tail_cut_inside_a_secret_hides_the_rest_of_it() -> None:
    secret = "0123456789abcdefghij"
    tail = LiveTail(Redactor([secret]), max_chars=15)
    tail.feed(b"x" * 100 + secret.encode() + b" ok")
    shown = tail.text()
    assert len(shown) <= 15
    assert not any(secret[i:] in shown for i in range(len(secret) - 1))
    assert shown.endswith(" ok")


def test_live_tail_survives_any_bytes() -> None:
    tail = LiveTail(Redactor([]), max_chars=100)
    tail.feed(b"\xff\xfe caf\xc3")
    tail.feed(b"\xa9 \xed\xa0\xbd \x1b[2J")
    text = tail.text()
    text.encode("utf-8")
    assert "café" in text and "\\x1b[2J" in text


def test_a_key_file_sized_secret_cut_by_the_tail_is_held_back() -> None:
    key = "".join(f"{i:04x}" for i in range(16 * 1024))  # 64 KiB, like a PEM private key
    tail = LiveTail(Redactor([key]), max_chars=2048)
    tail.feed(b"header\n" + key[:30_000].encode())  # still being written
    shown = tail.text()
    assert shown == "header\n"
    tail.feed(key[30_000:].encode() + b"\ndone\n")
    assert tail.text().endswith(f"{REDACTED}\ndone\n")
