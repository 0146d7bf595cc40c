"""The Stepwell step SDK: what a step author installs and imports.

Imports with only pydantic and jsonschema installed: no Temporal, Docker, FastAPI or database.
"""

from step_sdk.manifest import Limits, Manifest, RetryPolicy

__all__ = ["Limits", "Manifest", "RetryPolicy"]
