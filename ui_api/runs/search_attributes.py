"""The search attributes runs carry, so the API can list and filter them per workspace."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

WORKSPACE = SearchAttributeKey.for_keyword("StepwellWorkspace")
FLOW = SearchAttributeKey.for_keyword("StepwellFlow")
TRIGGER = SearchAttributeKey.for_keyword("StepwellTrigger")
FLOW_VERSION = SearchAttributeKey.for_int("StepwellFlowVersion")

ALL = (WORKSPACE, FLOW, TRIGGER, FLOW_VERSION)


def dev_server_flags() -> list[str]:
    """``temporal server start-dev`` arguments that define them at start."""
    flags = []
    for key in ALL:
        kind = "Int" if key is FLOW_VERSION else "Keyword"
        flags += ["--search-attribute", f"{key.name}={kind}"]
    return flags


def for_run(workspace_id: str, flow_id: str, version: int, trigger: str) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(WORKSPACE, workspace_id),
            SearchAttributePair(FLOW, flow_id),
            SearchAttributePair(FLOW_VERSION, version),
            SearchAttributePair(TRIGGER, trigger),
        ]
    )


async def register(client: Client, namespace: str) -> None:
    """Define the attributes on a cluster that lacks them (no-op when they exist)."""
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = {
        key.name: IndexedValueType.INDEXED_VALUE_TYPE_INT
        if key is FLOW_VERSION
        else IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        for key in ALL
        if key.name not in response.custom_attributes
    }
    if not missing:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.ALREADY_EXISTS:
            raise
