"""Every table of the API, imported once so that ``SQLModel.metadata`` knows them all
(Alembic's environment and the tests read it)."""

from ui_api.artifacts.models import ArtifactRow
from ui_api.auth.models import ApiKey, Workspace
from ui_api.fleet.models import Installation, LayerUse, RateBucket, StoredBundle, WorkerLease
from ui_api.flows.models import Flow, FlowVersion
from ui_api.schedules.models import Schedule
from ui_api.secrets.models import Secret
from ui_api.steps.models import StepVersion
from ui_api.webhooks.models import Webhook

__all__ = [
    "ApiKey",
    "ArtifactRow",
    "Flow",
    "FlowVersion",
    "Installation",
    "LayerUse",
    "RateBucket",
    "Schedule",
    "Secret",
    "StepVersion",
    "StoredBundle",
    "Webhook",
    "WorkerLease",
    "Workspace",
]
