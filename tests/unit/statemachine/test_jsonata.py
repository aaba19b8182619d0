"""JSONata evaluation as Step Functions does it; rows marked aws come from the conformance corpus."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from statemachine.errors import StatesError
from statemachine.json_types import JSON
from statemachine.jsonata.expressions import (
    Bindings,
    CompiledExpression,
    JsonataSyntaxError,
    check_result_type,
    compile_expression,
    evaluate,
    is_expression,
)

INPUT: dict[str, JSON] = {
    "input_value": "string literal",
    "input_values": [1, 2, 3],
    "nothing": None,
    "part1": {"hello": "world"},
    "part2": {"foo": "bar"},
    "FunctionInput": '{"Arg1": 1, "Arg2": []}',
    "type": "Private",
    "value": 22,
    "quote": '"',
}
CONTEXT: dict[str, JSON] = {
    "Execution": {"Id": "arn:exec", "Name": "exec"},
    "Map": {"Item": {"Value": "Item1"}},
}
VARIABLES: dict[str, JSON] = {
    "var_input_value": "string literal",
    "var_constant_1": 1,
    "nullVar": None,
    "ItemsVar": ["Item1", "Item2"],
    "var": '"',
}


def bindings(**overrides: object) -> Bindings:
    values: dict[str, object] = {
        "states": {"input": INPUT, "context": CONTEXT},
        "variables": VARIABLES,
        "uuid4": lambda: "11111111-2222-4333-8444-555555555555",
        "random": lambda: 0.25,
        "now": lambda: datetime(2024, 1, 1, tzinfo=UTC),
    }
    values.update(overrides)
    return Bindings(**values)  # type: ignore[arg-type]


def run(text: str, bound: Bindings | None = None, field: str = "Output") -> JSON:
    return evaluate(compile_expression(text), bound or bindings(), field)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # aws: arguments / outputdecl BASE_EXPR and BASE_DIRECT_EXPR
        ("$sum($states.input.input_values) + $var_constant_1", 7),
        ("$var_input_value", "string literal"),
        ("$states.input.input_values", [1, 2, 3]),
        # aws: evaluate_jsonata regular expressions
        ('$contains("hello$world", /^hello\\$/)', True),
        ("$contains('hello$world', /^hello\\$/)", True),
        ("$contains('hello$world', /^hello\\ /)", False),
        # aws: map items, merge with dynamic args
        ('$number("2")', 2),
        ("$merge([$states.input.part1, $states.input.part2])", {"hello": "world", "foo": "bar"}),
        ("[]", []),
        ("[1, 'two', 3]", [1, "two", 3]),
        ("$variable := 1", 1),
        # aws: choice conditions
        ("$not($states.input.type = 'Private')", False),
        ("$states.input.value >= 20 and $states.input.value < 30", True),
        # aws: escape sequences
        ("$var = '\"'", True),
        ("$states.input.quote = '\"'", True),
        # aws: $partition, $range, $parse
        ("$partition([0], 1)", [[0]]),
        ("$partition([0], 2)", [[0]]),
        ("$partition([0, 1, 2], 1)", [[0], [1], [2]]),
        ("$partition([0, 1, 2], 5)", [[0, 1, 2]]),
        ("$partition([0, 1, 2, 3], 2)", [[0, 1], [2, 3]]),
        ("$range(0, 9, 3)", [0, 3, 6, 9]),
        ("$range(0, 10, 3)", [0, 3, 6, 9]),
        ("$range(1, 9, 9)", 1),  # a one-item sequence collapses to its item, as AWS returned
        ("$range(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("$parse('1.1')", 1.1),
        ("$parse('\"HelloWorld\"')", "HelloWorld"),
        ("$parse($states.input.FunctionInput)", {"Arg1": 1, "Arg2": []}),
        # context, null handling, numbers
        ("$states.context.Map.Item.Value", "Item1"),
        ("$states.input.nothing", None),
        ("$nullVar", None),
        ("$nullVar = null", True),
        ("null", None),
        ("1 + 1", 2),
        ("1.5 + 1.5", 3),
        ("10 / 4", 2.5),
        ("$ItemsVar", ["Item1", "Item2"]),
        ("{'a': $nothing, 'b': 1}", {"b": 1}),
        ("$hash('input data', 'SHA-1')", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("$random(42)", 0.7275636800328681),  # java.util.Random(42).nextDouble()
        ("$random()", 0.25),
        ("$uuid()", "11111111-2222-4333-8444-555555555555"),
        ("$now()", "2024-01-01T00:00:00.000Z"),
        ("$millis()", 1704067200000),
    ],
)
def test_expressions_evaluate_like_aws(text: str, expected: JSON) -> None:
    result = run(text)
    assert result == expected
    assert type(result) is type(expected)


def test_ints_stay_ints() -> None:
    assert isinstance(run("1 + 1"), int)
    assert isinstance(run("$sum($states.input.input_values)"), int)


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        # aws: assign.test_undefined_reference__BASE_UNDEFINED_OUTPUT
        (
            "$doesNotExist",
            "The JSONata expression '$doesNotExist' specified for the field 'Output' "
            "returned nothing (undefined).",
        ),
        # aws: map items eval fail (function)
        (
            "$fn := function($x){$x}",
            "The JSONata expression '$fn := function($x){$x}' specified for the field 'Output' "
            "returned an unsupported result type.",
        ),
        (
            "$states.result",
            "The JSONata expression '$states.result' specified for the field 'Output' "
            "returned nothing (undefined).",
        ),
        (
            '1 + "a"',
            "The JSONata expression '1 + \"a\"' specified for the field 'Output' threw an error during "
            "evaluation: T2002: The right side of the + operator must evaluate to a number",
        ),
        (
            "$eval('1')",
            "The JSONata expression '$eval('1')' specified for the field 'Output' threw an error during "
            "evaluation: $eval is not supported in Step Functions; use $parse instead",
        ),
    ],
)
def test_evaluation_errors_carry_aws_causes(text: str, cause: str) -> None:
    with pytest.raises(StatesError) as caught:
        run(text)
    assert caught.value.name == "States.QueryEvaluationError"
    assert caught.value.cause == cause


@pytest.mark.parametrize(
    "text",
    [
        "$partition(1, 2)",
        "$partition([1], 0)",
        "$range(0, 1000, 1)",
        "$range(0, 10, 0)",
        "$hash('x', 'SHA-3')",
        "$hash(1, 'MD5')",
        "$parse('{')",
        "$parse(1)",
        "$random('x')",
        "$uuid(1)",
    ],
)
def test_step_functions_functions_reject_bad_arguments(text: str) -> None:
    with pytest.raises(StatesError) as caught:
        run(text)
    assert caught.value.name == "States.QueryEvaluationError"
    assert "threw an error during evaluation" in (caught.value.cause or "")


def test_now_without_a_clock_is_an_error_not_a_wall_clock_read() -> None:
    with pytest.raises(StatesError, match="need a clock"):
        run("$now()", bindings(now=None))


def test_effects_are_called_per_evaluation() -> None:
    counter = itertools.count()
    bound = bindings(uuid4=lambda: f"u{next(counter)}")
    assert run("[$uuid(), $uuid()]", bound) == ["u0", "u1"]
    assert run("$uuid()", bound) == "u2"


def test_results_are_copies_not_views_of_the_bindings() -> None:
    result = run("$states.input.input_values")
    assert isinstance(result, list)
    result.append(4)
    assert INPUT["input_values"] == [1, 2, 3]
    nested = run("$states.context")
    assert isinstance(nested, dict)
    execution = nested["Execution"]
    assert isinstance(execution, dict)
    execution["Id"] = "changed"
    assert CONTEXT["Execution"] == {"Id": "arn:exec", "Name": "exec"}


def test_assignments_inside_an_expression_do_not_leak() -> None:
    assert run("($var_constant_1 := 5; $var_constant_1)") == 5
    assert run("$var_constant_1") == 1
    assert VARIABLES["var_constant_1"] == 1


def test_check_result_type_uses_aws_wording() -> None:
    expr = compile_expression("$ItemsVar")
    check_result_type(["a"], "array", expr, "Items")
    with pytest.raises(StatesError) as caught:
        check_result_type({"foo": "bar"}, "array", expr, "Items")
    assert caught.value.cause == (
        "The JSONata expression '$ItemsVar' specified for the field 'Items' returned an unexpected result "
        "type. Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% $x %}", True),
        ("{%$x%}", True),
        (" {% states.input %} ", False),
        ("{% x", False),
        ("$states.input", False),
        ("{%}", False),
        (1, False),
        (None, False),
    ],
)
def test_is_expression_needs_both_delimiters_at_the_ends(value: object, expected: bool) -> None:
    assert is_expression(value) is expected


def test_compile_strips_delimiters_and_caches() -> None:
    assert compile_expression("{% $x %}").text == "$x"
    assert compile_expression(" $x ").text == "$x"
    assert compile_expression("$states.input") is compile_expression("$states.input")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("(", "S0203"),
        ("1 +", "S0207"),
        ("'a", "S0101"),
        ("", "the expression is empty"),
        ("{%  %}", "the expression is empty"),
        ("$foo(", "S0203"),
    ],
)
def test_compile_rejects_bad_syntax(text: str, problem: str) -> None:
    with pytest.raises(JsonataSyntaxError) as caught:
        compile_expression(text)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "$states.input.input_value",
        "$states.input.input_values",
        "$states.input.nothing",
        "$states.input.nothing.deeper",
        "$states.input.part1",
        "$states.input.absent",
        "$states.context.Execution.Id",
        "$var_constant_1",
        "$nullVar",
        "$ItemsVar",
        "$undefinedVar",
        "$sum",
    ],
)
def test_simple_paths_take_a_shortcut_with_the_engines_results(text: str) -> None:
    fast = compile_expression(text)
    assert fast.simple_path is not None
    engine_only = CompiledExpression(fast.text, fast.program)

    def outcome(expr: CompiledExpression) -> object:
        try:
            return evaluate(expr, bindings(), "Output")
        except StatesError as err:
            return (err.name, err.cause)

    assert outcome(fast) == outcome(engine_only)


def test_paths_through_arrays_use_the_engine() -> None:
    bound = bindings(variables={"orders": {"lines": [{"sku": "a"}, {"sku": "b"}], "one": [{"sku": "c"}]}})
    assert run("$orders.lines.sku", bound) == ["a", "b"]
    assert run("$orders.one.sku", bound) == "c"
    assert run("$orders.one", bound) == [{"sku": "c"}]


def test_runaway_tail_recursion_fails_instead_of_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("statemachine.jsonata.engine.MAX_STEPS", 2_000)
    with pytest.raises(StatesError) as caught:
        run("($f := function($n){$f($n+1)}; $f(0))")
    assert caught.value.name == "States.QueryEvaluationError"
    assert caught.value.cause is not None
    assert caught.value.cause.endswith("threw an error during evaluation: it took more than 2000 steps")


def test_the_step_budget_is_per_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("statemachine.jsonata.engine.MAX_STEPS", 2_000)
    expr = compile_expression("$sum([1..100])")
    for _ in range(50):
        assert evaluate(expr, bindings(), "Output") == 5050


def test_deep_recursion_is_an_error_not_a_crash() -> None:
    with pytest.raises(StatesError, match="recursion too deep"):
        run("($f := function($n){$n = 0 ? 0 : 1 + $f($n - 1)}; $f(100000))")


def test_huge_ranges_are_refused_by_the_engine() -> None:
    with pytest.raises(StatesError, match="D2014"):
        run("$count([1..100000000])")


def test_shuffle_draws_from_the_injected_random_source() -> None:
    first = run("$shuffle([1, 2, 3, 4, 5])", bindings(random=lambda: 0.0))
    assert first == [2, 3, 4, 5, 1]
    assert run("$shuffle([1, 2, 3, 4, 5])", bindings(random=lambda: 0.0)) == first
    assert run("$shuffle([1, 2, 3, 4, 5])", bindings(random=lambda: 0.999)) == [1, 2, 3, 4, 5]
    assert run("$shuffle([null, 'a'])", bindings(random=lambda: 0.0)) == ["a", None]
    assert run("$shuffle(7)") == [7]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$map($list, function($x){$x})", [None, 1]),
        ("$list.$string()", ["null", "1"]),
        ("$count($list)", 2),
        ("$list[0] = null", True),
        ("$states.input.rows.$string()", ["null", "2"]),
        ("$deep.inner[0]", None),
        ("$deep.inner", [None]),
    ],
)
def test_nulls_inside_arrays_stay_null_not_undefined(text: str, expected: JSON) -> None:
    bound = bindings(
        states={"input": {"rows": [None, 2]}},
        variables={"list": [None, 1], "deep": {"inner": [None]}},
    )
    assert run(text, bound) == expected


def test_null_conversion_leaves_the_callers_values_alone() -> None:
    variables: dict[str, JSON] = {"list": [None, {"a": [None]}]}
    run("$map($list, function($x){$x})", bindings(variables=variables))
    assert variables == {"list": [None, {"a": [None]}]}


def test_a_bad_regex_is_a_syntax_error() -> None:
    with pytest.raises(JsonataSyntaxError, match="nothing to repeat"):
        compile_expression("/?a/")


def test_engine_type_errors_become_query_evaluation_errors() -> None:
    with pytest.raises(StatesError) as caught:
        run("$var_constant_1 & /re/")
    assert caught.value.name == "States.QueryEvaluationError"
    assert "threw an error during evaluation: TypeError" in (caught.value.cause or "")
