"""What ``stepwell up`` prepares on a fresh machine: a workspace, a key, the examples.

In development mode the first API key is kept in ``<home>/api-key`` (mode 0600) so that every
``stepwell up`` can print a working key; keys are otherwise shown once and stored hashed.
Example steps are pushed and the example flow saved through the HTTP API, like a user would.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from step_sdk.project import ProjectError, build_directory
from stepwell_settings import Settings
from ui_api.auth.service import create_key, create_workspace, find_workspace, lookup_key
from ui_api.db import session_scope
from ui_api.services import Services

DEFAULT_WORKSPACE = "default"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_INPUT = {"company": "ACME Corp", "values": [40, 70, 90]}
# Example flows saved besides new-lead (which gets the webhook): order-report mixes JavaScript
# steps (data.group, date.format) with Python ones.
OTHER_FLOWS = ("order_report.json",)


def key_file(settings: Settings) -> Path:
    return settings.home / "api-key"


def development_key(services: Services) -> str:
    """The saved key of the default workspace if it still works, else a new one (saved)."""
    path = key_file(services.settings)
    with session_scope(services.engine) as session:
        if path.exists():
            saved = path.read_text().strip()
            if lookup_key(session, saved) is not None:
                return saved
        workspace = find_workspace(session, DEFAULT_WORKSPACE) or create_workspace(
            session, DEFAULT_WORKSPACE
        )
        _, key = create_key(session, workspace.id, "stepwell up")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key


@dataclass
class Seeded:
    steps: list[str]
    flow_id: str | None
    webhook_url: str | None
    problems: list[str]
    # Examples this installation's egress setting does not accept (not a problem: a choice).
    skipped: list[str] = field(default_factory=list)
    # Names of the example flows saved (new-lead first).
    flows: list[str] = field(default_factory=list)


async def seed_examples(api: httpx.AsyncClient, examples: Path = EXAMPLES) -> Seeded:
    """Push the example steps, save the example flows, give new-lead a webhook (idempotent)."""
    seeded = Seeded(steps=[], flow_id=None, webhook_url=None, problems=[])
    steps_dir, flow_file = examples / "steps", examples / "flows" / "lead.json"
    if not steps_dir.is_dir() or not flow_file.is_file():
        seeded.problems.append(f"no examples under {examples}: nothing seeded")
        return seeded
    for directory in sorted(p for p in steps_dir.iterdir() if p.is_dir()):
        try:
            bundle = build_directory(directory, write_manifest=False)  # checkout stays clean
        except ProjectError as exc:
            seeded.problems.append(f"{directory.name}: {exc}")
            continue
        answer = await api.post(
            "/v1/steps", files={"bundle": ("bundle.tgz", bundle.data, "application/gzip")}
        )
        if answer.status_code in (200, 201):
            seeded.steps.append(bundle.manifest.ref)
        elif _code(answer) == "egress_not_allowed":
            egress = ", ".join(bundle.manifest.egress)
            seeded.skipped.append(
                f"{bundle.manifest.ref} (egress {egress}: not allowed by STEPWELL_EGRESS)"
            )
        else:
            seeded.problems.append(f"{bundle.manifest.ref}: {_message(answer)}")
    definition = json.loads(flow_file.read_text())
    flow_id = await _flow_id(api, definition, seeded)
    for name in OTHER_FLOWS:
        other = json.loads((examples / "flows" / name).read_text())
        if await _flow_id(api, other, seeded) is not None:
            seeded.flows.append(str(other["name"]))
    if flow_id is None:
        return seeded
    seeded.flow_id = flow_id
    seeded.flows.insert(0, str(definition["name"]))
    webhook = await api.get(f"/v1/flows/{flow_id}/webhook")
    if webhook.status_code == 404:
        webhook = await api.put(f"/v1/flows/{flow_id}/webhook", json={"signed": False})
    if webhook.is_success:
        seeded.webhook_url = webhook.json()["url"]
    else:
        seeded.problems.append(f"webhook: {_message(webhook)}")
    return seeded


async def _flow_id(
    api: httpx.AsyncClient, definition: dict[str, object], seeded: Seeded
) -> str | None:
    created = await api.post("/v1/flows", json={"definition": definition})
    if created.status_code == 201:
        return str(created.json()["id"])
    if created.status_code != 409:
        seeded.problems.append(f"flow {definition.get('name')}: {_message(created)}")
        return None
    listed = await api.get("/v1/flows", params={"limit": 100})
    for flow in listed.json().get("items", []) if listed.is_success else []:
        if flow["name"] == definition.get("name"):
            return str(flow["id"])
    seeded.problems.append(f"flow {definition.get('name')}: exists but could not be found")
    return None


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
