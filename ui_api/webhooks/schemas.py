"""Request and response bodies of the webhooks routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class WebhookSettings(BaseModel):
    """How the flow's webhook should be (re)issued."""

    model_config = ConfigDict(extra="forbid")

    signed: bool = Field(
        False,
        description="require an HMAC-SHA256 signature on every delivery "
        "(a signing secret is issued with the URL)",
    )


class WebhookOut(BaseModel):
    """A flow's webhook, as shown after creation (never with its signing secret)."""

    flow_id: str
    url: str = Field(description="where to POST deliveries; the token in it is the credential")
    signed: bool = Field(description="whether deliveries must be signed")
    created_at: datetime = Field(description="when this URL (and secret) was issued")


class IssuedWebhook(WebhookOut):
    """A freshly issued webhook: the only answer that shows the signing secret."""

    signing_secret: str | None = Field(
        description="the HMAC key for signatures (signed webhooks only); shown only now"
    )
    signature_help: str = Field(description="how a sender signs a delivery")


class Delivery(BaseModel):
    """An accepted delivery: the run it started (or had already started)."""

    run_id: str = Field(description="the run this delivery started; poll it at /v1/runs/{id}")
    duplicate: bool = Field(
        description="true when an earlier delivery with the same idempotency key "
        "already started this run (nothing new was started)"
    )
