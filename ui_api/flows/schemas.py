"""Request and response bodies of ``/v1/flows``.

A definition travels as plain JSON and is validated by ``workflows.validation`` (so that every
problem is reported at once, with its pointer), but the OpenAPI document still shows its full
contract-5 schema, so a builder can generate forms and types from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

from ui_api.encodable import EncodableModel
from workflows.definition import FlowDefinition


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every local ``#/$defs/...`` reference replaced by its target.

    The OpenAPI document keeps its own ``components``; a schema with private ``$defs`` would
    break there. The flow definition has no recursive types, so inlining terminates.
    """
    definitions = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                target = dict(definitions[reference.removeprefix("#/$defs/")])
                return resolve({**target, **{k: v for k, v in node.items() if k != "$ref"}})
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


DEFINITION_SCHEMA = {
    **inline_refs(FlowDefinition.model_json_schema(by_alias=True)),
    "description": (
        "A flow definition (contract 5): a named DAG of steps, each using a pushed step version "
        "('name@version') with inputs mapped by '{{ JMESPath }}' expressions over "
        "{trigger, steps.<id>.output, vars}."
    ),
    "examples": [
        {
            "name": "new-lead",
            "steps": [
                {
                    "id": "clean",
                    "uses": "text.slugify@1.0.0",
                    "with": {"text": "{{ trigger.company }}"},
                }
            ],
            "output": {"slug": "{{ steps.clean.output.slug }}"},
        }
    ],
}

Definition = Annotated[dict[str, Any], WithJsonSchema(DEFINITION_SCHEMA)]


class DefinitionBody(BaseModel):
    """A flow definition to save or check."""

    definition: Definition = Field(description="the flow definition (contract 5)")


class UpdateBody(DefinitionBody):
    """A new definition for an existing flow; saving it makes a new immutable version."""

    base_version: int | None = Field(
        None,
        ge=1,
        description=(
            "optional optimistic lock: the version the editor started from; if another save "
            "happened since, the update answers 409 instead of overwriting it"
        ),
    )


class ProblemOut(EncodableModel):
    pointer: str = Field(description="JSON pointer into the request body, e.g. /definition/steps/0")
    message: str = Field(description="what is wrong there, for a person")


class ValidationResult(EncodableModel):
    """Every static problem of a definition (nothing is saved)."""

    valid: bool = Field(description="true when the definition can be saved and run")
    problems: list[ProblemOut] = Field(description="every problem found; empty when valid")


class FlowSummary(EncodableModel):
    """A flow's metadata."""

    id: str = Field(description="the flow's id, e.g. flw_3f9a...")
    name: str = Field(description="the definition's name; unique in the workspace")
    description: str = Field("", description="the latest definition's description")
    enabled: bool = Field(description="disabled flows refuse new runs from every trigger")
    latest_version: int = Field(description="the newest saved version (versions count from 1)")
    created_at: datetime
    updated_at: datetime


class FlowOut(FlowSummary):
    """A flow with its latest definition."""

    definition: dict[str, Any] = Field(description="the latest version's definition")


class FlowPage(EncodableModel):
    """One page of flows, in name order."""

    items: list[FlowSummary]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )


class VersionSummary(EncodableModel):
    version: int = Field(description="1 for the first save, +1 for each update")
    name: str = Field(description="the flow's name in this version")
    created_at: datetime


class VersionOut(VersionSummary):
    """One immutable saved version of a flow."""

    flow_id: str
    definition: dict[str, Any] = Field(description="the definition exactly as saved")


class VersionPage(EncodableModel):
    """One page of a flow's versions, newest first."""

    items: list[VersionSummary]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )
