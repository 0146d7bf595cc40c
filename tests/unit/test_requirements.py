"""Requirement pins: exactly name[extras]==version, normalised."""

from __future__ import annotations

import pytest

from step_sdk.requirements import RequirementError, parse_requirement, parse_requirements


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("Markdown==3.7", "markdown==3.7"),
        ("email_validator==2.2.0", "email-validator==2.2.0"),
        ("requests[Socks, security]==2.32.3", "requests[security,socks]==2.32.3"),
        ("  six == 1.16.0 ", "six==1.16.0"),
        ("pkg==1.0rc1", "pkg==1.0rc1"),
    ],
)
def test_pins_are_normalised(text: str, normalised: str) -> None:
    assert str(parse_requirement(text)) == normalised


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("https://x/y.whl", "URL"),
        ("pkg @ https://x/y.whl", "URL"),
        ("git+https://x/y", "URL"),
        ("./pkg", "path"),
        ("/abs/pkg", "path"),
        ("-e .", "option"),
        ("--index-url=https://x", "option"),
        ("pkg>=1", "not pinned"),
        ("pkg", "not pinned"),
        ("pkg==1; python_version>'3'", "marker"),
        ("", "empty"),
    ],
)
def test_anything_but_a_pin_is_rejected_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(RequirementError, match=reason):
        parse_requirement(text)


def test_list_errors_name_the_index_and_conflicting_pins() -> None:
    with pytest.raises(RequirementError, match=r"^/requirements/1: "):
        parse_requirements(["six==1.16.0", "--pre"])
    with pytest.raises(RequirementError, match="pinned twice"):
        parse_requirements(["six==1.16.0", "Six==1.15.0"])


def test_list_is_sorted_and_deduplicated() -> None:
    parsed = parse_requirements(["b==1", "a==2", "B==1"])
    assert [str(r) for r in parsed] == ["a==2", "b==1"]
