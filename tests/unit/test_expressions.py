"""`{{ JMESPath }}` expressions: rendering, references, parse errors. No server needed."""

from __future__ import annotations

import pytest

from workflows.expressions import (
    ExpressionError,
    evaluate,
    referenced_steps,
    render,
    render_input,
    truthy,
)

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


def test_a_missing_value_inside_text_is_an_error_naming_the_missing_path() -> None:
    with pytest.raises(ExpressionError) as caught:
        render({"text": "Hello {{ trigger.name }}"}, SCOPE, ("with",))
    assert caught.value.path == ("with", "text")
    assert caught.value.reason.startswith("trigger.name is missing (null)")
    with pytest.raises(ExpressionError, match=r"trigger\.nope is missing"):
        render("x {{ trigger.nope.deeper[0].name }}", SCOPE)
    with pytest.raises(ExpressionError, match=r"steps\.score\.output\.tags\[5\] is missing"):
        render("x {{ steps.score.output.tags[5] }}", SCOPE)
    with pytest.raises(ExpressionError, match="expression 'max\\(`\\[\\]`\\)' gave null"):
        render("x {{ max(`[]`) }}", SCOPE)


def test_a_default_opts_into_missing_values_inside_text() -> None:
    assert render("Hello {{ trigger.name || 'there' }}", SCOPE) == "Hello there"
    assert render("Hello {{ not_null(trigger.name, trigger.body.company) }}", SCOPE) == (
        "Hello ACME Corp"
    )
    assert render("[{{ trigger.name || '' }}]", SCOPE) == "[]"


def test_a_whole_value_expression_giving_null_leaves_an_optional_input_unset() -> None:
    schema = {
        "properties": {"b": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
        "required": ["b"],
    }
    with_ = {"a": "{{ trigger.nope }}", "b": "{{ trigger.nope }}", "c": None, "d": "{{ vars.x }}"}
    assert render_input(with_, SCOPE, schema) == {"b": None, "c": None}


def test_null_for_a_required_input_that_refuses_null_names_the_missing_path() -> None:
    schema = {"properties": {"name": {"type": "string"}}, "required": ["name"]}
    with pytest.raises(ExpressionError) as caught:
        render_input({"name": " {{ trigger.body.name }} "}, SCOPE, schema)
    assert caught.value.path == ("with", "name")
    assert caught.value.reason == "trigger.body.name is missing (null); the step requires 'name'"


def test_ordering_a_string_against_a_number_is_an_error_not_a_crash() -> None:
    scope = {"trigger": {"amount": "60", "n": 60, "tags": ["a"]}}
    with pytest.raises(ExpressionError, match="cannot compare string with number \\(>\\)"):
        evaluate("trigger.amount > `50`", scope)
    with pytest.raises(ExpressionError, match="cannot compare array with number"):
        evaluate("trigger.tags <= `1`", scope)
    with pytest.raises(ExpressionError, match="cannot compare boolean with number"):
        evaluate("`true` < `1`", scope)
    assert evaluate("trigger.n > `50`", scope) is True
    assert evaluate("trigger.amount < 'b'", scope) is True
    assert evaluate("trigger.missing > `50`", scope) is None  # null: false in an ``if``
    assert evaluate("trigger.amount == `60`", scope) is False


def test_every_evaluation_failure_is_an_expression_error_with_its_path() -> None:
    with pytest.raises(ExpressionError) as caught:
        render({"x": ["ok", "{{ length(trigger.nope) }}"]}, SCOPE, ("with",))
    assert caught.value.path == ("with", "x", 1)
    assert "length()" in caught.value.reason
    with pytest.raises(ExpressionError, match="ValueError: slice step cannot be zero"):
        render("{{ steps.score.output.tags[::0] }}", SCOPE)
    with pytest.raises(ExpressionError, match="does not parse"):
        render("{{ " + "(" * 5000 + "a" + ")" * 5000 + " }}", SCOPE)
