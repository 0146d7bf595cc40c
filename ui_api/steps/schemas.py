"""Request and response bodies of the steps routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from step_sdk.manifest import Example, Limits, RetryPolicy
from ui_api.encodable import EncodableModel

RUNTIME_DESCRIPTION = (
    "what the step's code runs in: `python3.11` (a Python `@step` function) or `node20` "
    "(a JavaScript ES module on Node.js 20)"
)


class StepVersionOut(EncodableModel):
    """One pushed version of a step, without its schemas."""

    name: str = Field(description="dotted lowercase step name, e.g. `text.slugify`")
    version: str = Field(description="semantic version, e.g. `1.2.0`")
    ref: str = Field(description="`name@version`: what a flow step's `uses` holds")
    title: str = Field(description="short human title for the catalogue")
    description: str = Field(description="what the step does (Markdown)")
    digest: str = Field(description="sha256 of the bundle bytes, `sha256:<hex>`")
    size: int = Field(description="bundle size in bytes")
    created_at: datetime = Field(description="when this version was pushed")
    deprecated: bool = Field(description="hidden from the catalogue; existing flows still run it")
    deprecation_message: str = Field(description="why it is deprecated, empty if it is not")
    egress: list[str] = Field(
        description="hosts the step may connect to (`host` or `host:port`; `*`: any public "
        "host); empty: no network at all"
    )
    runtime: str = Field(description=RUNTIME_DESCRIPTION)
    egress_widened: list[str] = Field(
        description="entries of `egress` that the previous version's egress (the highest "
        "version below this one when it was pushed) did not allow: network access this "
        "version adds; for a first version, all of its egress"
    )


class StepVersionDetail(StepVersionOut):
    """A version with everything a builder renders forms from (contract 1's manifest)."""

    entrypoint: str = Field(
        description="`module:function` inside the bundle (`python3.11`), or the path of the "
        "ES module whose default export is the step (`node20`, e.g. `step.mjs`)"
    )
    requirements: list[str] = Field(
        description="exact pins: `name[extras]==version` (`python3.11`) or npm "
        "`name@version` (`node20`, e.g. `dayjs@1.11.13`, `@scope/pkg@1.0.0`)"
    )
    input_schema: dict[str, Any] = Field(description="JSON Schema 2020-12 of the step's input")
    output_schema: dict[str, Any] = Field(
        description="JSON Schema 2020-12 of the output (`{}`: anything)"
    )
    limits: Limits = Field(description="resource limits of one execution")
    retry: RetryPolicy = Field(description="how a failed execution is retried")
    secrets: list[str] = Field(description="names of workspace secrets the step receives")
    examples: list[Example] = Field(description="input/output pairs, e.g. for a form's preview")
    manifest: dict[str, Any] = Field(description="the whole manifest (`stepwell.json`) as stored")


class CatalogueItem(EncodableModel):
    """One step of the catalogue: its latest usable version."""

    name: str = Field(description="dotted lowercase step name")
    title: str = Field(description="the latest version's title")
    description: str = Field(description="the latest version's description")
    latest_version: str = Field(
        description="highest non-deprecated version (highest of all if every one is deprecated)"
    )
    version_count: int = Field(description="how many versions are pushed, deprecated included")
    deprecated: bool = Field(description="every version of the step is deprecated")
    egress: list[str] = Field(
        description="the latest version's egress: the hosts it may connect to (empty: none)"
    )
    runtime: str = Field(description="the latest version's runtime: " + RUNTIME_DESCRIPTION)


class CataloguePage(EncodableModel):
    items: list[CatalogueItem] = Field(description="steps in name order")
    next_cursor: str | None = Field(
        description="pass as `cursor` to get the next page; null on the last page"
    )


class VersionList(EncodableModel):
    items: list[StepVersionOut] = Field(description="versions in semantic-version order")


class DeprecateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(
        "", max_length=500, description="why, and what to use instead; shown in the builder"
    )
