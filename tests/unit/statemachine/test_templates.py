"""JSONPath payload templates: constants shared, ``.$`` fields resolved, errors as AWS words them."""

from __future__ import annotations

from typing import Any

import pytest

from statemachine.errors import StatesError
from statemachine.intrinsics.evaluate import IntrinsicEffects
from statemachine.json_types import JSON
from statemachine.paths import PathSyntaxError
from statemachine.templates import Scope, compile_template

CONTEXT: JSON = {"Execution": {"Id": "arn:exec"}, "Map": {"Item": {"Index": 3}}}


def _render(template: Any, document: Any, variables: dict[str, Any] | None = None) -> Any:
    scope = Scope(document, variables or {}, lambda: CONTEXT, IntrinsicEffects(lambda: "uuid", lambda: 0.5))
    return compile_template(template).render(scope)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ({"a.$": "$.x"}, {"a": 1}),
        ({"a.$": "$"}, {"a": {"x": 1, "y": [1, 2]}}),
        ({"nested": {"b.$": "$.y[1]"}, "c": [{"d.$": "$.x"}]}, {"nested": {"b": 2}, "c": [{"d": 1}]}),
        ({"id.$": "$$.Execution.Id", "i.$": "$$.Map.Item.Index"}, {"id": "arn:exec", "i": 3}),
        ({"v.$": "$var.field"}, {"v": "from-variable"}),
        ({"f.$": "States.Format('{}-{}', $.x, $var.field)"}, {"f": "1-from-variable"}),
        ({"literal": "$.x", "n": None}, {"literal": "$.x", "n": None}),
    ],
    ids=["path", "root", "nested", "context", "variable", "intrinsic", "literal-looking-path"],
)
def test_render(template: Any, expected: Any) -> None:
    assert _render(template, {"x": 1, "y": [1, 2]}, {"var": {"field": "from-variable"}}) == expected


def test_constant_templates_are_returned_without_copying() -> None:
    template: JSON = {"a": {"b": [1, 2]}}
    compiled = compile_template(template)
    scope = Scope({}, {}, lambda: {}, IntrinsicEffects(str, float))
    assert compiled.render(scope) is template


def test_missing_path_names_field_and_input() -> None:
    with pytest.raises(StatesError) as raised:
        _render({"value.$": "$.nope"}, {"x": 1})
    assert raised.value.name == "States.Runtime"
    assert raised.value.cause == (
        "The JSONPath '$.nope' specified for the field 'value.$' could not be found in the input '{\"x\":1}'"
    )


@pytest.mark.parametrize("value", ["not a path", 5, "States.Nope("], ids=["text", "number", "bad-intrinsic"])
def test_invalid_dynamic_values_are_rejected_at_compile_time(value: Any) -> None:
    with pytest.raises((PathSyntaxError, ValueError)):
        compile_template({"a.$": value})
