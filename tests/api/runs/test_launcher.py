"""Starting a run from stored rows: frozen steps, search attributes, at most once per run id."""

from __future__ import annotations

import pytest
from sqlmodel import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import RawValue
from temporalio.converter import DataConverter

from step_sdk.bundle import Bundle
from tests.api.helpers import WorkspaceKey, insert_flow, insert_step
from ui_api.db import session_scope
from ui_api.errors import ApiError
from ui_api.flows.models import Flow, FlowVersion
from ui_api.runs.launcher import FrozenSteps, flow_run_input, input_payload, start_run
from ui_api.services import Services
from workflows.types import FlowRunInput

SLUG_FLOW = {
    "name": "slug",
    "steps": [{"id": "clean", "uses": "text.slugify@1.0.0", "with": {"text": "{{ trigger.t }}"}}],
    "output": {"slug": "{{ steps.clean.output.slug }}"},
}


def _input(services: Services, flow: Flow, trigger: object) -> FlowRunInput:
    with session_scope(services.engine) as session:
        version = session.exec(select(FlowVersion).where(FlowVersion.flow_id == flow.id)).one()
        return flow_run_input(session, services.settings, flow, version, trigger)


async def test_a_run_starts_once_per_id_and_finishes(
    api_services: Services,
    api_worker: str,
    workspace: WorkspaceKey,
    example_bundles: list[Bundle],
) -> None:
    slugify = next(b for b in example_bundles if b.manifest.name == "text.slugify")
    insert_step(api_services, workspace.workspace_id, slugify)
    flow = insert_flow(api_services, workspace.workspace_id, SLUG_FLOW)
    run_input = _input(api_services, flow, {"t": "Hello World"})
    assert run_input.steps["text.slugify@1.0.0"].manifest["name"] == "text.slugify"

    first = await start_run(
        api_services.temporal, api_services.settings, run_input, trigger_kind="manual",
        run_id="run_test_" + flow.id,
    )  # fmt: skip
    again = await start_run(
        api_services.temporal, api_services.settings, run_input, trigger_kind="manual",
        run_id="run_test_" + flow.id,
    )  # fmt: skip
    assert first.created and not again.created and first.run_id == again.run_id

    handle = api_services.temporal.get_workflow_handle(first.run_id)
    result = await handle.result()
    assert result["output"] == {"slug": "hello-world"}
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.COMPLETED
    attributes = {pair.key.name: pair.value for pair in described.typed_search_attributes}
    assert attributes["StepwellWorkspace"] == workspace.workspace_id
    assert attributes["StepwellFlow"] == flow.id


def test_a_flow_using_an_unpushed_step_is_a_conflict(
    api_services: Services, workspace: WorkspaceKey
) -> None:
    flow = insert_flow(api_services, workspace.workspace_id, SLUG_FLOW)
    with pytest.raises(ApiError, match="not pushed") as caught:
        _input(api_services, flow, {})
    assert caught.value.status == 409


def test_the_run_input_encoded_from_memory_decodes_as_the_converter_would(
    api_services: Services, workspace: WorkspaceKey, example_bundles: list[Bundle]
) -> None:
    slugify = next(b for b in example_bundles if b.manifest.name == "text.slugify")
    insert_step(api_services, workspace.workspace_id, slugify)
    flow = insert_flow(api_services, workspace.workspace_id, SLUG_FLOW)
    frozen = FrozenSteps()
    converter = DataConverter.default.payload_converter
    for trigger in ({"t": "Grüße, \\u00e9 ☃"}, None, [1, 2.5, True], "text"):
        with session_scope(api_services.engine) as session:
            version = session.exec(select(FlowVersion).where(FlowVersion.flow_id == flow.id)).one()
            run_input = flow_run_input(
                session, api_services.settings, flow, version, trigger, frozen
            )
        encoded = input_payload(run_input, frozen)
        assert isinstance(encoded, RawValue)  # taken from memory, not the converter
        decoded = converter.from_payloads([encoded.payload], [FlowRunInput])[0]
        assert (
            decoded
            == converter.from_payloads(converter.to_payloads([run_input]), [FlowRunInput])[0]
        )
        assert decoded == run_input
    # an input that is not the remembered version's goes to the converter unchanged
    other = FlowRunInput(definition={}, steps={}, workspace_id=workspace.workspace_id)
    assert input_payload(other, frozen) is other
