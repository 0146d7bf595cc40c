"""``@step(egress=[...])``: valid entries reach the manifest normalized; malformed ones are
refused at decoration with the entry's JSON pointer and what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from step_sdk import StepDefinitionError, step
from tests.egress_entries import MALFORMED


def test_egress_entries_reach_the_manifest_normalized_and_sorted() -> None:
    @step(egress=["API.GitHub.com:443", "*.slack.com", "hooks.example.com:8443", "*.slack.com"])
    def call(text: str) -> str:
        return text

    assert call.manifest.egress == ("*.slack.com", "api.github.com", "hooks.example.com:8443")


def test_a_step_without_egress_has_none() -> None:
    @step
    def offline(text: str) -> str:
        return text

    assert offline.manifest.egress == ()


@pytest.mark.parametrize(("entry", "words"), MALFORMED, ids=[repr(e) for e, _ in MALFORMED])
def test_a_malformed_entry_is_refused_with_its_pointer(entry: object, words: str) -> None:
    entries: list[Any] = ["api.github.com", entry]
    with pytest.raises(StepDefinitionError) as raised:

        @step(egress=entries)
        def call(text: str) -> str:
            return text

    message = str(raised.value)
    assert message.startswith("test_a_malformed_entry_is_refused_with_its_pointer.<locals>.call:")
    assert "/egress/1: " in message
    assert words in message
    assert "Value error" not in message  # pydantic's prefix is not for people


def test_a_lone_string_is_refused_not_split_into_letters() -> None:
    with pytest.raises(StepDefinitionError, match=r"/egress: must be a list of hosts"):

        @step(egress="api.github.com")  # a str is a Sequence[str] to the type checker
        def call(text: str) -> str:
            return text


def test_too_many_entries_are_refused_at_the_list() -> None:
    with pytest.raises(StepDefinitionError, match=r"/egress: .*at most 64"):

        @step(egress=[f"h{i}.example.com" for i in range(65)])
        def call(text: str) -> str:
            return text
