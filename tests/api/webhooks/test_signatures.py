"""Webhook signatures: HMAC-SHA256 of timestamp.body, refused precisely, ignored when unsigned.

Deliveries go to an app whose runs queue on a task queue no worker polls (runs are started in
Temporal and checked there, never executed).
"""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from tests.api.helpers import WorkspaceKey, assert_error
from tests.api.webhooks.helpers import Hooks, issue, path_of, runs_of, signed_post
from ui_api.flows.models import Flow
from ui_api.services import Services
from ui_api.webhooks import signatures

# --- signatures (pure) ------------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    secret, body = "whsec_test", b'{"a": 1}'
    expected = hmac.new(secret.encode(), b'1700000000.{"a": 1}', hashlib.sha256).hexdigest()
    assert signatures.sign(secret, 1700000000, body) == f"sha256={expected}"
    signatures.verify(
        secret, body, "1700000000", f"sha256={expected.upper()}", tolerance_s=5, now=1700000004
    )


@pytest.mark.parametrize(
    ("timestamp", "signature", "fragment"),
    [
        (None, "good", "missing X-Stepwell-Timestamp"),
        ("1700000000", None, "missing X-Stepwell-Signature"),
        ("17e8", "good", "unix seconds"),
        ("-1700000000", "good", "unix seconds"),
        ("1700000000", "md5=abc", "64 hex digits"),
        ("1700000000", "sha256=" + "0" * 64, "does not match"),
        ("1700000001", "good", "does not match"),  # the timestamp is part of what is signed
    ],
)
def test_signature_problems_are_named(
    timestamp: str | None, signature: str | None, fragment: str
) -> None:
    good = signatures.sign("whsec_test", 1700000000, b"{}")
    with pytest.raises(signatures.SignatureError, match=fragment):
        signatures.verify(
            "whsec_test",
            b"{}",
            timestamp,
            good if signature == "good" else signature,
            tolerance_s=300,
            now=1700000000,
        )


# --- signed deliveries -----------------------------------------------------------------------


async def test_a_signed_delivery_is_accepted(
    hooks: Hooks, workspace: WorkspaceKey, flow: Flow
) -> None:
    issued = await issue(hooks.http, workspace, flow.id, signed=True)
    body, headers = signed_post(issued["signing_secret"], {"t": "signed"})
    answer = await hooks.http.post(path_of(issued), content=body, headers=headers)
    assert answer.status_code == 202, answer.text


@pytest.mark.parametrize(
    ("attack", "fragment"),
    [
        ("no signature", "missing X-Stepwell-Signature"),
        ("no timestamp", "missing X-Stepwell-Timestamp"),
        ("wrong secret", "does not match"),
        ("body changed", "does not match"),
        ("garbled", "64 hex digits"),
        ("too old", "expired"),
        ("from the future", "expired"),
    ],
)
async def test_bad_signatures_are_refused_and_start_nothing(
    hooks: Hooks, api_services: Services, workspace: WorkspaceKey, flow: Flow, attack: str,
    fragment: str,
) -> None:  # fmt: skip
    issued = await issue(hooks.http, workspace, flow.id, signed=True)
    secret, tolerance = issued["signing_secret"], api_services.settings.webhook_tolerance_s
    stamp = {"too old": -tolerance - 5, "from the future": tolerance + 5}.get(attack, 0)
    body, headers = signed_post(
        "whsec_guess" if attack == "wrong secret" else secret,
        {"t": "x"},
        timestamp=int(time.time()) + stamp,
    )
    if attack == "no signature":
        del headers[signatures.SIGNATURE_HEADER]
    if attack == "no timestamp":
        del headers[signatures.TIMESTAMP_HEADER]
    if attack == "body changed":
        body = body.replace(b'"x"', b'"y"')
    if attack == "garbled":
        headers[signatures.SIGNATURE_HEADER] = "sha256=not-hex"
    answer = await hooks.http.post(path_of(issued), content=body, headers=headers)
    error = assert_error(answer, 401, "unauthorized")
    assert fragment in error["message"]
    assert hooks.delivered("rejected") == 1
    assert await runs_of(api_services.temporal, flow.id, 0) == []


async def test_unsigned_webhooks_ignore_signature_headers(
    hooks: Hooks, workspace: WorkspaceKey, flow: Flow
) -> None:
    issued = await issue(hooks.http, workspace, flow.id)
    headers = {signatures.SIGNATURE_HEADER: "garbage", signatures.TIMESTAMP_HEADER: "0"}
    answer = await hooks.http.post(path_of(issued), json={"t": "x"}, headers=headers)
    assert answer.status_code == 202, answer.text
