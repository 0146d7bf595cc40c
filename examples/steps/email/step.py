"""email.normalize: check an email address's syntax and return its normalised form."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from step_sdk import step


class Verdict(TypedDict):
    """Whether the address is valid; its normalised form if so, otherwise why not."""

    valid: bool
    normalized: str | None
    reason: str | None


@step(
    name="email.normalize",
    version="1.0.0",
    title="Validate and normalise an email address",
    requirements=["email-validator==2.2.0"],
    timeout_s=10,
    examples=[
        {
            "input": {"email": "Ada.Lovelace@EXAMPLE.com"},
            "output": {"valid": True, "normalized": "Ada.Lovelace@example.com", "reason": None},
        },
        {
            "input": {"email": "not-an-email"},
            "output": {
                "valid": False,
                "normalized": None,
                "reason": "An email address must have an @-sign.",
            },
        },
        {
            "input": {"email": "josé@exämple.org", "allow_smtputf8": False},
            "output": {
                "valid": False,
                "normalized": None,
                "reason": "Internationalized characters before the @-sign are not supported: 'é'.",
            },
        },
    ],
)
def normalize(
    email: Annotated[str, Field(max_length=1_000)],
    allow_smtputf8: bool = True,
) -> Verdict:
    """Validate the syntax of ``email`` and normalise it (lower-case domain, Unicode NFC).

    Only the syntax is checked: the sandbox has no network, so there is no DNS lookup of the
    domain (``check_deliverability=False``). An invalid address is not an error: the result says
    ``valid: false`` with the reason. With ``allow_smtputf8`` false, addresses that need an
    SMTPUTF8-capable mail server (non-ASCII before the ``@``) are refused.
    """
    # Imported here, not at the top: `stepwell step build` imports this module on the author's
    # machine to read the decorator, where the requirement need not be installed.
    from email_validator import (  # type: ignore[import-not-found,unused-ignore]
        EmailNotValidError,
        validate_email,
    )

    try:
        result = validate_email(email, check_deliverability=False, allow_smtputf8=allow_smtputf8)
    except EmailNotValidError as exc:
        return {"valid": False, "normalized": None, "reason": str(exc)}
    normalized: str = result.normalized
    return {"valid": True, "normalized": normalized, "reason": None}
