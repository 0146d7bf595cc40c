"""Webhook triggers: a flow's webhook (``/v1/flows/{id}/webhook``) and deliveries (``/v1/hooks``).

Managing a webhook needs an API key of the flow's workspace. Delivering to one needs only its
URL: the token in it is the credential, checked without timing leaks (see
:mod:`ui_api.webhooks.tokens`). A delivery is checked in this order: token (404), size (413),
signature if the webhook is signed (401), the webhook's rate limit (429), JSON body (415/422),
idempotency key (422), flow enabled (409); then the run starts on the flow's latest version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio.service import RPCError

from ui_api.auth.dependencies import CallerDep
from ui_api.auth.ratelimit import Decision
from ui_api.columns import utcnow
from ui_api.deps import ServicesDep, SessionDep
from ui_api.errors import ApiError, ErrorResponse, not_found, temporal_unavailable
from ui_api.flows.models import Flow
from ui_api.json_body import StrictJsonRoute
from ui_api.runs.launcher import flow_run_input, start_run
from ui_api.secrets.crypto import DecryptionError
from ui_api.services import Services
from ui_api.webhooks import signatures
from ui_api.webhooks.delivery import (
    IDEMPOTENCY_HEADERS,
    delivery_run_id,
    idempotency_key,
    parse_trigger,
    read_capped_body,
)
from ui_api.webhooks.models import Webhook
from ui_api.webhooks.schemas import Delivery, IssuedWebhook, WebhookOut, WebhookSettings
from ui_api.webhooks.tokens import find_webhook_and_flow, new_token_secret, webhook_url
from workflows.types import FlowRunInput

log = logging.getLogger("stepwell.api")

router = APIRouter(prefix="/v1", tags=["webhooks"], route_class=StrictJsonRoute)


def _secret_context(webhook: Webhook) -> str:
    return f"webhook:{webhook.id}"


def _own_flow(session: Session, caller_workspace: str, flow_id: str) -> Flow:
    flow = session.get(Flow, flow_id)
    if flow is None or flow.workspace_id != caller_workspace:
        raise not_found("flow", flow_id)
    return flow


def _webhook_of(session: Session, flow: Flow) -> Webhook | None:
    return session.exec(select(Webhook).where(Webhook.flow_id == flow.id)).first()


def _out(services: Services, webhook: Webhook) -> WebhookOut:
    return WebhookOut(
        flow_id=webhook.flow_id,
        url=webhook_url(services.settings, webhook),
        signed=webhook.signing_secret is not None,
        created_at=webhook.created_at,
    )


@router.put(
    "/flows/{flow_id}/webhook",
    response_model=IssuedWebhook,
    responses={
        201: {"model": IssuedWebhook, "description": "the flow had no webhook: one was created"},
        404: {"model": ErrorResponse, "description": "no such flow in this workspace"},
        409: {"model": ErrorResponse, "description": "a concurrent request created it first"},
    },
)
def issue_webhook(
    flow_id: str,
    body: WebhookSettings,
    caller: CallerDep,
    session: SessionDep,
    services: ServicesDep,
    response: Response,
) -> IssuedWebhook:
    """Create the flow's webhook (201), or rotate it (200).

    Either way the answer has a new URL with a new unguessable token and, if `signed`, a new
    signing secret, shown only in this answer. Rotating invalidates the old URL (and secret) at
    once; idempotency keys of earlier deliveries still count.
    """
    flow = _own_flow(session, caller.workspace_id, flow_id)
    webhook = _webhook_of(session, flow)
    if webhook is None:
        webhook = Webhook(workspace_id=caller.workspace_id, flow_id=flow.id, token="")
        response.status_code = status.HTTP_201_CREATED
    webhook.token = new_token_secret()
    webhook.created_at = utcnow()
    secret = signatures.new_signing_secret() if body.signed else None
    webhook.signing_secret = (
        None if secret is None else services.box.seal(secret, _secret_context(webhook))
    )
    session.add(webhook)
    try:
        session.flush()
    except IntegrityError:
        raise ApiError(409, f"flow {flow_id!r} got a webhook concurrently; retry") from None
    return IssuedWebhook(
        **_out(services, webhook).model_dump(),
        signing_secret=secret,
        signature_help=signatures.signature_help(services.settings.webhook_tolerance_s)
        if body.signed
        else "this webhook is unsigned: signature headers are ignored",
    )


@router.get(
    "/flows/{flow_id}/webhook",
    response_model=WebhookOut,
    responses={404: {"model": ErrorResponse, "description": "no such flow, or it has no webhook"}},
)
def get_webhook(
    flow_id: str, caller: CallerDep, session: SessionDep, services: ServicesDep
) -> WebhookOut:
    """The flow's webhook URL and whether it is signed (the signing secret is never shown)."""
    flow = _own_flow(session, caller.workspace_id, flow_id)
    webhook = _webhook_of(session, flow)
    if webhook is None:
        raise not_found("webhook of flow", flow_id)
    return _out(services, webhook)


@router.delete(
    "/flows/{flow_id}/webhook",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"model": ErrorResponse, "description": "no such flow, or it has no webhook"}},
)
def delete_webhook(flow_id: str, caller: CallerDep, session: SessionDep) -> None:
    """Remove the flow's webhook: its URL answers 404 from now on."""
    flow = _own_flow(session, caller.workspace_id, flow_id)
    webhook = _webhook_of(session, flow)
    if webhook is None:
        raise not_found("webhook of flow", flow_id)
    session.delete(webhook)


_DELIVERY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "any JSON value; it becomes the run's `trigger`",
        "content": {"application/json": {"schema": {}}},
    }
}
_KEY_HELP = (
    "makes redeliveries start the run once; when absent, the first of "
    + ", ".join(IDEMPOTENCY_HEADERS[1:])
    + " that is present is used"
)


@router.post(
    "/hooks/{token}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Delivery,
    openapi_extra=_DELIVERY_BODY,
    responses={
        401: {"model": ErrorResponse, "description": "signature missing, wrong or expired"},
        404: {"model": ErrorResponse, "description": "no live webhook with this token"},
        409: {"model": ErrorResponse, "description": "the flow is disabled"},
        413: {"model": ErrorResponse, "description": "body over the size cap"},
        415: {"model": ErrorResponse, "description": "body is not JSON"},
        429: {"model": ErrorResponse, "description": "the webhook's rate limit is exceeded"},
        503: {"model": ErrorResponse, "description": "Temporal unreachable; retry"},
    },
)
async def deliver(
    token: str,
    request: Request,
    response: Response,
    services: ServicesDep,
    idempotency: Annotated[
        str | None, Header(alias="Idempotency-Key", description=_KEY_HELP)
    ] = None,
    timestamp: Annotated[
        str | None,
        Header(alias=signatures.TIMESTAMP_HEADER, description="signed webhooks: unix seconds"),
    ] = None,
    signature: Annotated[
        str | None,
        Header(alias=signatures.SIGNATURE_HEADER, description="signed webhooks: sha256=<hex>"),
    ] = None,
) -> Delivery:
    """Deliver an event: start a run of the flow with the JSON body as its trigger.

    No API key: the URL's token is the credential. Answers 202 with the run id; a redelivery
    with the same idempotency key answers the same run id with `"duplicate": true` and starts
    nothing. `RateLimit-*` headers describe the webhook's remaining budget.
    """
    del idempotency  # declared for the API docs; read with its fallbacks by idempotency_key
    outcomes = services.metrics.webhook_deliveries
    decision: Decision | None = None
    try:
        target = await services.transaction(lambda session: _target(session, services, token))
        if target is None:
            raise ApiError(404, "no webhook at this URL (unknown or revoked token)")
        webhook = target.webhook
        body = await read_capped_body(request, services.settings.webhook_max_body_kb)
        if webhook.signing_secret is not None:
            _check_signature(services, webhook, body, timestamp, signature)
        decision = await services.webhook_limiter.take_async(webhook.id, services.db_threads)
        if not decision.allowed:
            services.metrics.rate_limited.labels("webhook").inc()
            raise ApiError(
                429,
                f"rate limit of {services.webhook_limiter.rate:g} deliveries/s for this webhook "
                f"exceeded; retry in {decision.retry_after_s} s",
            )
        delivery = await _start(services, target, request, body)
    except ApiError as exc:
        outcome = "rate_limited" if exc.status == 429 else "rejected"
        outcomes.labels(outcome).inc()
        if decision is not None:
            exc.headers.update(decision.headers())
        raise
    response.headers.update(decision.headers())
    outcomes.labels("duplicate" if delivery.duplicate else "accepted").inc()
    return delivery


@dataclass(frozen=True)
class _Target:
    """What a delivery to a live webhook would start: the run input without its trigger, or
    why its flow refuses runs (answered after the body checks, in the documented order)."""

    webhook: Webhook
    run_input: FlowRunInput | None
    refusal: ApiError | None = None


def _target(session: Session, services: Services, token: str) -> _Target | None:
    """Everything a delivery needs from the database: one query for the webhook and its flow
    (the flow version's steps are usually remembered, see ``FrozenSteps``)."""
    found = find_webhook_and_flow(session, token)
    if found is None:
        return None
    webhook, flow = found
    try:
        if flow is None:  # deleted behind the webhook's back: the URL is dead with it
            raise ApiError(404, "no webhook at this URL (unknown or revoked token)")
        if not flow.enabled:
            raise ApiError(409, f"flow {flow.id!r} is disabled; enable it to accept deliveries")
        run_input = flow_run_input(
            session, services.settings, flow, flow.latest_version, None, services.frozen_steps
        )
    except ApiError as refusal:
        return _Target(webhook, None, refusal)
    return _Target(webhook, run_input)


def _check_signature(
    services: Services,
    webhook: Webhook,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
) -> None:
    assert webhook.signing_secret is not None
    try:
        secret = services.box.open(webhook.signing_secret, _secret_context(webhook))
    except DecryptionError:
        log.error("webhook %s: signing secret cannot be decrypted", webhook.id)
        raise ApiError(
            500,
            "this webhook's signing secret cannot be decrypted (the server's secret key "
            "changed); its owner must rotate it",
            code="internal",
        ) from None
    try:
        signatures.verify(
            secret,
            body,
            timestamp,
            signature,
            tolerance_s=services.settings.webhook_tolerance_s,
        )
    except signatures.SignatureError as exc:
        raise ApiError(401, str(exc)) from None


async def _start(services: Services, target: _Target, request: Request, body: bytes) -> Delivery:
    trigger = parse_trigger(body, request.headers.get("content-type"))
    key = idempotency_key(request.headers)
    if target.refusal is not None:
        raise target.refusal
    assert target.run_input is not None
    run_input = replace(target.run_input, trigger=trigger)
    webhook = target.webhook
    run_id = None if key is None else delivery_run_id(webhook.id, key[1])
    try:
        started = await start_run(
            services.temporal,
            services.settings,
            run_input,
            trigger_kind="webhook",
            run_id=run_id,
            frozen=services.frozen_steps,
        )
    except RPCError as exc:
        log.warning("webhook %s: could not start a run: %s", webhook.id, exc)
        raise temporal_unavailable(exc) from None
    if started.created:
        services.metrics.runs_started.labels("webhook").inc()
    return Delivery(run_id=started.run_id, duplicate=not started.created)
