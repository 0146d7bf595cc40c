"""HMAC-SHA256 signatures of webhook deliveries: signing (for senders and tests) and checking.

A signed delivery carries two headers::

    X-Stepwell-Timestamp: 1700000000
    X-Stepwell-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

The timestamp is unix seconds; the server refuses timestamps further than its tolerance from its
own clock (either way), so a captured delivery cannot be replayed later. The key is the signing
secret's UTF-8 bytes, the message the timestamp's decimal digits, a dot, then the body's bytes
exactly as sent.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

TIMESTAMP_HEADER = "X-Stepwell-Timestamp"
SIGNATURE_HEADER = "X-Stepwell-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

SIGNATURE_HELP = (
    f"Send '{TIMESTAMP_HEADER}: <unix seconds>' and '{SIGNATURE_HEADER}: sha256=<hex>', where "
    "<hex> is the lowercase hex HMAC-SHA256 of '<timestamp>.<raw body>' keyed with the signing "
    'secret (its UTF-8 bytes). Shell: ts=$(date +%s); sig=$(printf \'%s.%s\' "$ts" "$body" | '
    "openssl dgst -sha256 -hmac \"$secret\" | sed 's/^.* //'). "
    "Timestamps further than {tolerance} s from the server's clock are refused."
)


class SignatureError(ValueError):
    """A delivery whose signature is missing, malformed, wrong or expired (the message says)."""


def new_signing_secret() -> str:
    """A fresh signing secret: 256 random bits, prefixed so secret scanners recognise it."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signed_message(timestamp: int | str, body: bytes) -> bytes:
    """What is signed: ``b"<timestamp>.<body>"``."""
    return str(timestamp).encode() + b"." + body


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Stepwell-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), signed_message(timestamp, body), hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signature_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Both headers a sender adds to sign ``body`` (now, unless ``timestamp`` is given)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, body)}


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    tolerance_s: int,
    now: float | None = None,
) -> None:
    """Accept a correctly signed, fresh delivery; raise :class:`SignatureError` otherwise.

    The signature is checked before the timestamp's age, so "expired" is only ever said of a
    delivery that was signed with the right secret (a replay, or a sender's clock that is off).
    """
    if signature is None or not signature.strip():
        raise SignatureError(f"missing {SIGNATURE_HEADER} header: this webhook requires signing")
    if timestamp is None or not timestamp.strip():
        raise SignatureError(f"missing {TIMESTAMP_HEADER} header: this webhook requires signing")
    timestamp = timestamp.strip()
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError(f"{TIMESTAMP_HEADER} must be unix seconds (digits only)")
    presented = _SIGNATURE.fullmatch(signature.strip())
    if presented is None:
        raise SignatureError(f"{SIGNATURE_HEADER} must be 'sha256=' followed by 64 hex digits")
    expected = sign(secret, timestamp, body)[len("sha256=") :]
    if not hmac.compare_digest(expected.encode(), presented.group(1).lower().encode()):
        raise SignatureError(
            f"{SIGNATURE_HEADER} does not match: sign '<timestamp>.<raw body>' with "
            "HMAC-SHA256 and this webhook's signing secret"
        )
    skew = (time.time() if now is None else now) - int(timestamp)
    if abs(skew) > tolerance_s:
        direction = "in the past" if skew > 0 else "in the future"
        raise SignatureError(
            f"signature expired: {TIMESTAMP_HEADER} is {abs(skew):.0f} s {direction}; "
            f"the tolerance is {tolerance_s} s"
        )


def signature_help(tolerance_s: int) -> str:
    """How to sign, for the answer that hands out a signing secret."""
    return SIGNATURE_HELP.replace("{tolerance}", str(tolerance_s))
