"""Request and response bodies of the secrets routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from step_sdk.manifest import MIN_SECRET_CHARS

# Secrets are tokens, keys and passwords; the cap keeps the steps' stdin envelope small.
MAX_VALUE_BYTES = 64 * 1024
# JSON may escape every character as \\uXXXX (6 bytes), plus room for the braces and key.
MAX_BODY_BYTES = 6 * MAX_VALUE_BYTES + 1024


class SecretValue(BaseModel):
    """The value to store. It is never returned by any endpoint."""

    model_config = ConfigDict(hide_input_in_errors=True)

    value: SecretStr = Field(
        description=f"The secret: at least {MIN_SECRET_CHARS} characters besides surrounding "
        f"whitespace, at most {MAX_VALUE_BYTES} bytes (UTF-8)."
    )

    @model_validator(mode="before")
    @classmethod
    def _only_value(cls, data: Any) -> Any:
        # Not extra="forbid": its error names the unknown keys, and a key may be the secret
        # itself (`{"<token>": ""}`), which must not come back in the answer. Without "value",
        # the error is that it is missing.
        if isinstance(data, dict) and "value" in data and set(data) - {"value"}:
            raise ValueError(
                "only 'value' is accepted; other field names are not shown, they may hold a secret"
            )
        return data


class SecretOut(BaseModel):
    """A secret's name and dates; the value is write-only."""

    name: str
    created_at: datetime
    updated_at: datetime
