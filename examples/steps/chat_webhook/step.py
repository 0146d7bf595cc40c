"""chat.notify: post a message to a Slack-compatible incoming webhook."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from step_sdk import StepContext, step

SECRET = "CHAT_WEBHOOK_URL"  # noqa: S105 (the name of a workspace secret, not a value)


class Delivery(TypedDict):
    """Whether the chat service accepted the message, its HTTP status and its answer."""

    ok: bool
    status: int
    response: str


@step(
    name="chat.notify",
    version="1.0.0",
    title="Post to a chat webhook",
    secrets=[SECRET],
    egress=["hooks.slack.com"],
    timeout_s=30,
)
def notify(
    text: Annotated[str, Field(min_length=1, max_length=40_000)],
    ctx: StepContext,
    username: Annotated[str, Field(max_length=80)] | None = None,
) -> Delivery:
    """Post ``text`` to the incoming webhook whose URL is the workspace secret
    ``CHAT_WEBHOOK_URL`` (Slack's format, ``{"text": ...}``, which Mattermost, Rocket.Chat and
    others accept too).

    The step may reach ``hooks.slack.com`` only: a webhook URL on another host is refused
    before anything is sent. A status other than 2xx is reported with ``ok: false``; a refused
    or failed connection is an error (and is retried).
    """
    url = ctx.secrets.get(SECRET, "")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"the secret {SECRET} must hold the webhook's https:// URL")
    message: dict[str, str] = {"text": text}
    if username:
        message["username"] = username
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url,
        data=json.dumps(message).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as reply:  # noqa: S310
            status, answer = reply.status, reply.read(4096)
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read(4096)
    except urllib.error.URLError as error:
        # the URL holds a credential: name only its host
        raise ConnectionError(f"posting to {parts.hostname}: {error.reason}") from None
    return {
        "ok": 200 <= status < 300,
        "status": status,
        "response": answer.decode("utf-8", errors="replace"),
    }
