"""`{{ JMESPath }}` expressions: rendering, references, parse errors. No server needed."""

from __future__ import annotations

import pytest

from workflows.expressions import ExpressionError, referenced_steps, render, truthy

SCOPE = {
    "trigger": {"body": {"company": "ACME Corp", "n": 3}},
    "steps": {"score": {"output": {"score": 70, "tags": ["a", "b"]}}},
    "vars": {"threshold": 50},
}


def test_a_whole_value_expression_keeps_its_json_type() -> None:
    assert render("{{ steps.score.output.score }}", SCOPE) == 70
    assert render(" {{ steps.score.output.tags }} ", SCOPE) == ["a", "b"]
    assert render("{{ steps.score.output.score > `50` }}", SCOPE) is True
    assert render("{{ steps.missing.output }}", SCOPE) is None


def test_embedded_expressions_render_as_text() -> None:
    rendered = render("Hot lead {{ trigger.body.company }} ({{ steps.score.output.tags }})", SCOPE)
    assert rendered == 'Hot lead ACME Corp (["a","b"])'
    assert render("{{ trigger.body.n }}{{ trigger.body.n }}", SCOPE) == "33"
    assert render("none: {{ steps.missing }}", SCOPE) == "none: "


def test_rendering_walks_objects_and_lists() -> None:
    value = {"a": ["{{ vars.threshold }}", {"b": "x{{ trigger.body.n }}"}], "c": 1}
    assert render(value, SCOPE) == {"a": [50, {"b": "x3"}], "c": 1}


def test_references_come_from_the_syntax_tree() -> None:
    assert referenced_steps("steps.score.output.score > `50`") == {"score"}
    assert referenced_steps("length(steps.a.output) > steps.b.output[0]") == {"a", "b"}
    assert referenced_steps("trigger.body.steps") == set()
    assert referenced_steps("'steps.fake'") == set()


def test_unparsable_expression_says_why() -> None:
    with pytest.raises(ExpressionError, match="does not parse"):
        render("{{ steps.( }}", SCOPE)


def test_truthiness_follows_jmespath() -> None:
    values: list[object] = [None, False, "", [], {}, 0, "x", [0]]
    assert [truthy(v) for v in values] == [
        False, False, False, False, False, True, True, True,
    ]  # fmt: skip
