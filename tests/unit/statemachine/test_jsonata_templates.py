"""JSONata templates (Arguments, Output, Assign, ...): compiled once, rendered fresh per state."""

from __future__ import annotations

from typing import Any

import pytest

from statemachine.errors import StatesError
from statemachine.json_types import JSON
from statemachine.jsonata.expressions import (
    Bindings,
    JsonataSyntaxError,
    check_result_type,
    compile_template,
    render,
)

STATE_INPUT: dict[str, JSON] = {"input_value": "string literal", "input_values": [1, 2, 3]}


def bindings(variables: dict[str, JSON] | None = None, **states: JSON) -> Bindings:
    return Bindings(
        states={"input": STATE_INPUT, **states},
        variables=variables if variables is not None else {"var_constant_1": 1, "answer": 42},
        uuid4=lambda: "uuid",
        random=lambda: 0.5,
    )


# aws: outputdecl.test_output__test_base_cases__BASE_LITERALS -- everything that is not exactly
# "{% ... %}" is a literal, including JSONPath-looking strings, ".$" keys and intrinsic calls.
LITERALS: dict[str, JSON] = {
    "constant_null": None,
    "constant_int": 0,
    "constant_float": 0.1,
    "constant_bool": True,
    "constant_str": "constant string",
    "constant_not_jsonata": " {% states.input %} ",
    "constant_varpath_states": "$states.input",
    "constant_jp_input.$": "$",
    "constant_jp_context": "$$",
    "constant_if": "States.Format('Format:{}', 101)",
    "constant_lst_empty": [],
    "constant_lst": [None, 0, 0.1, True, [], {"constant": 0}, " {% states.input %} ", "$states.input"],
    "constant_obj_empty": {},
    "constant_obj": {"in_obj_constant_lst": [None, {"constant": 0}], "in_obj_constant_obj": {"constant": 0}},
}


def test_literal_templates_render_unchanged_and_fresh() -> None:
    template = compile_template(LITERALS, "Output")
    first: Any = render(template, bindings())
    assert first == LITERALS
    assert isinstance(first, dict)
    first["constant_lst"].append("mutated")
    first["constant_obj"]["in_obj_constant_obj"]["constant"] = 1
    assert render(template, bindings()) == LITERALS


def test_expressions_render_at_any_depth() -> None:
    # aws: outputdecl BASE_EXPR / arguments BASE_LAMBDA_EXPRESSION / task dataflow
    template = compile_template(
        {
            "ja_states_input": "{% $states.input %}",
            "ja_expr": "{% $sum($states.input.input_values) + $var_constant_1 %}",
            "Payload": {"theAnswer": "{% $answer %}", "list": ["{% $states.result.Payload %}", "x"]},
            "literal": "constant",
        },
        "Arguments",
    )
    out = render(template, bindings(result={"Payload": {"foo": "foo-1"}}))
    assert out == {
        "ja_states_input": STATE_INPUT,
        "ja_expr": 7,
        "Payload": {"theAnswer": 42, "list": [{"foo": "foo-1"}, "x"]},
        "literal": "constant",
    }
    assert isinstance(out, dict)
    assert out["ja_states_input"] is not STATE_INPUT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% true %}", True),
        ("{% null %}", None),
        ("{% 'string literal' %}", "string literal"),
        ("plain", "plain"),
    ],
)
def test_a_whole_field_can_be_one_expression_or_a_scalar(value: JSON, expected: JSON) -> None:
    assert render(compile_template(value, "Output"), bindings()) == expected


@pytest.mark.parametrize(
    ("template", "field", "where"),
    [
        # aws: assign.test_undefined_reference__BASE_UNDEFINED_* causes
        ("{% $doesNotExist %}", "Arguments", "Arguments"),
        ({"FunctionName": "{% $doesNotExist %}"}, "Arguments", "Arguments/FunctionName"),
        ({"result": "{% $doesNotExist %}"}, "Assign", "Assign/result"),
        ({"result": "{% $doesNotExist %}"}, "Output", "Output/result"),
        ({"list": [1, "{% $doesNotExist %}"]}, "Output", "Output/list/1"),
    ],
)
def test_undefined_results_name_the_field_like_aws(template: JSON, field: str, where: str) -> None:
    with pytest.raises(StatesError) as caught:
        render(compile_template(template, field), bindings())
    assert caught.value.name == "States.QueryEvaluationError"
    assert caught.value.cause == (
        f"The JSONata expression '$doesNotExist' specified for the field '{where}' "
        "returned nothing (undefined)."
    )


def test_render_can_name_the_field_when_compile_did_not() -> None:
    template = compile_template({"result": "{% $doesNotExist %}"})
    with pytest.raises(StatesError, match="for the field 'Output/result' returned nothing"):
        render(template, bindings(), field="Output")
    with pytest.raises(StatesError, match="expression '\\$doesNotExist' specified for the field 'result'"):
        render(template, bindings())


def test_null_variables_are_null_not_undefined() -> None:
    assert render(compile_template({"v": "{% $nothing %}"}), bindings({"nothing": None})) == {"v": None}


def test_compile_template_reports_the_bad_expression_and_where_it_is() -> None:
    with pytest.raises(JsonataSyntaxError) as caught:
        compile_template({"ok": "{% 1 %}", "bad": ["x", "{% $foo( %}"]}, "Output")
    assert caught.value.expression == "$foo("
    assert caught.value.subpath == "bad/1"
    assert str(caught.value) == (
        "invalid JSONata expression '$foo(' (at bad/1) at position 5: "
        "S0203: Expected ) before end of expression"
    )


@pytest.mark.parametrize(
    ("items", "value", "cause"),
    [
        # aws: scenarios.test_map_state_items_eval_jsonata_fail__* and *_variable_sampling__*
        (
            "{% true %}",
            True,
            "The JSONata expression 'true' specified for the field 'Items' returned an unexpected "
            "result type. Expected 'array', but was 'boolean' for value: true",
        ),
        (
            "{% $ItemsVar %}",
            {"foo": "bar"},
            "The JSONata expression '$ItemsVar' specified for the field 'Items' returned an unexpected "
            "result type. Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}",
        ),
        (
            "{% $ItemsVar %}",
            "string",
            "The JSONata expression '$ItemsVar' specified for the field 'Items' returned an unexpected "
            "result type. Expected 'array', but was 'string' for value: \"string\"",
        ),
    ],
)
def test_check_result_type_quotes_the_templates_expression(items: str, value: JSON, cause: str) -> None:
    template = compile_template(items, "Items")
    check_result_type([1], "array", template)
    with pytest.raises(StatesError) as caught:
        check_result_type(value, "array", template)
    assert caught.value.name == "States.QueryEvaluationError"
    assert caught.value.cause == cause


def test_a_compiled_template_does_not_follow_later_changes_to_the_definition() -> None:
    definition: dict[str, Any] = {"fixed": {"list": [1]}, "expr": "{% 1 %}"}
    template = compile_template(definition, "Output")
    definition["fixed"]["list"].append(2)
    assert render(template, bindings()) == {"fixed": {"list": [1]}, "expr": 1}
