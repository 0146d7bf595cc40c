"""Webhook URL tokens: minting, the URL they make, and finding a webhook by one without leaks.

A token is ``<webhook id>.<secret>``, the secret being 256 random bits (``token_urlsafe(32)``).
The database is searched by the id part only (not secret), and the secret part is compared with
:func:`hmac.compare_digest`, so neither the lookup nor the comparison takes a time that depends on
how much of a guessed secret is right. Unknown ids, wrong secrets and malformed tokens all end the
same way: ``None``.
"""

from __future__ import annotations

import hmac
import re
import secrets

from sqlmodel import Session, select

from stepwell_settings import Settings
from ui_api.flows.models import Flow
from ui_api.webhooks.models import Webhook

_WEBHOOK_ID = re.compile(r"whk_[0-9a-f]{20}")
_MAX_SECRET = 64
# Compared against when the id is unknown, so a miss costs what a wrong secret costs.
_DUMMY_SECRET = secrets.token_urlsafe(32).encode()


def new_token_secret() -> str:
    """The random part of a webhook URL (stored in ``Webhook.token``)."""
    return secrets.token_urlsafe(32)


def url_token(webhook: Webhook) -> str:
    return f"{webhook.id}.{webhook.token}"


def webhook_url(settings: Settings, webhook: Webhook) -> str:
    """The public delivery URL of ``webhook``."""
    return f"{settings.public_url.rstrip('/')}/v1/hooks/{url_token(webhook)}"


def find_webhook_and_flow(session: Session, token: str) -> tuple[Webhook, Flow | None] | None:
    """The webhook this URL token belongs to, with its flow (in one query), or ``None`` for any
    token that is not live."""
    webhook_id, _, secret = token.partition(".")
    presented = secret.encode("utf-8", "surrogateescape")
    if not _WEBHOOK_ID.fullmatch(webhook_id) or not 0 < len(presented) <= _MAX_SECRET:
        hmac.compare_digest(presented[:_MAX_SECRET], _DUMMY_SECRET)
        return None
    row = session.exec(
        select(Webhook, Flow)
        .join(Flow, Flow.id == Webhook.flow_id, isouter=True)  # type: ignore[arg-type]
        .where(Webhook.id == webhook_id)
    ).first()
    expected = _DUMMY_SECRET if row is None else row[0].token.encode()
    if not hmac.compare_digest(presented, expected) or row is None:
        return None
    return row[0], row[1]
