"""A JavaScript step's output is JSON exactly: what JSON.stringify would drop, change or refuse
is an OutputValidationError naming the JSON pointer, never a silently different output."""

from __future__ import annotations

import pytest

from sandbox.errors import ErrorType
from tests.sandbox.js_fixtures import RunJs


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("undefined", "/: undefined is not a JSON value"),
        ("{ a: 1, b: undefined }", "/b: undefined is not a JSON value"),
        ("[1, undefined, 3]", "/1: undefined is not a JSON value"),
        ("{ n: NaN }", "/n: NaN is not a JSON number"),
        ("{ big: [Infinity] }", "/big/0: Infinity is not a JSON number"),
        ("{ low: -Infinity }", "/low: -Infinity is not a JSON number"),
        ("{ id: 12345678901234567890n }", "/id: the BigInt 12345678901234567890n is not a JSON"),
        ("{ fn: () => 1 }", "/fn: a function is not a JSON value"),
        ("{ s: Symbol('x') }", "/s: the symbol Symbol(x) is not a JSON value"),
        ("{ [Symbol('k')]: 1 }", "/: the symbol key Symbol(k) is not a JSON key"),
        ("{ m: new Map([[1, 2]]) }", "/m: [object Map] is not a JSON value"),
        ("{ bytes: new Uint8Array(2) }", "/bytes: [object Uint8Array] is not a JSON value"),
        ("{ 'a/b~c': { x: NaN } }", "/a~1b~0c/x: NaN is not a JSON number"),
        ("{ t: 'caf\\udce9' }", "/t: the text contains a lone surrogate"),
    ],
)
def test_values_json_cannot_carry_are_named_by_pointer(
    run_js: RunJs, expression: str, expected: str
) -> None:
    result = run_js(f"export default async () => ({expression});\n")
    assert result.output is None
    assert result.error is not None
    assert result.error.type is ErrorType.OUTPUT_VALIDATION
    assert not result.error.retryable
    assert expected in result.error.message


def test_a_cycle_is_named_where_it_closes(run_js: RunJs) -> None:
    result = run_js(
        """
        export default async () => {
          const order = { id: 7, lines: [{ sku: "a" }] };
          order.lines[0].order = order;
          return order;
        };
        """
    )
    assert result.error is not None
    assert result.error.type is ErrorType.OUTPUT_VALIDATION
    assert "/lines/0/order: a cycle" in result.error.message


def test_shared_objects_that_are_not_cycles_are_fine(run_js: RunJs) -> None:
    result = run_js(
        """
        export default async () => {
          const shared = { n: 1 };
          return { a: shared, b: [shared, shared], when: new Date(Date.UTC(2026, 0, 2)) };
        };
        """
    )
    assert result.error is None, result.error
    # a Date is written as JSON.stringify writes it (its toJSON)
    assert result.output == {
        "a": {"n": 1},
        "b": [{"n": 1}, {"n": 1}],
        "when": "2026-01-02T00:00:00.000Z",
    }


def test_deeply_nested_output_is_output_limit_exceeded(run_js: RunJs) -> None:
    result = run_js(
        """
        export default async () => {
          let value = 1;
          for (let i = 0; i < 200; i++) value = [value];
          return value;
        };
        """
    )
    assert result.error is not None
    assert result.error.type is ErrorType.OUTPUT_LIMIT
    assert "nested deeper than 64 levels" in result.error.message


def test_output_over_the_limit_is_output_limit_exceeded(run_js: RunJs) -> None:
    result = run_js('export default async () => "x".repeat(2 * 1024 * 1024);\n', output_kb=1024)
    assert result.error is not None
    assert result.error.type is ErrorType.OUTPUT_LIMIT


@pytest.mark.parametrize(
    "source",
    [
        # A getter that throws while the output is read.
        'const o = {}; Object.defineProperty(o, "g", '
        '{ enumerable: true, get() { throw new Error("boom"); } }); return o;',
        # The same with a thrown string, which has no message property.
        'const o = {}; Object.defineProperty(o, "g", '
        '{ enumerable: true, get() { throw "boom"; } }); return o;',
        # A Proxy whose key listing throws, and a revoked one.
        'return new Proxy({}, { ownKeys() { throw new Error("boom"); } });',
        "const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return { p: proxy };",
    ],
)
def test_an_output_that_throws_while_it_is_read_fails_at_once(run_js: RunJs, source: str) -> None:
    """Reading the output runs the step's own code; when that throws, the execution ends at once
    with an OutputValidationError (before: it hung until the deadline, then was retried)."""
    result = run_js(f"export default async () => {{ {source} }};\n")
    assert result.error is not None
    assert result.error.type is ErrorType.OUTPUT_VALIDATION, result.error
    assert "output cannot be read" in result.error.message or "/" in result.error.message
    assert not result.timed_out
