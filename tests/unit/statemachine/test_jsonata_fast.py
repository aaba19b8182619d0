"""The condition shortcut decides exactly as the engine does, or hands the case to the engine."""

from __future__ import annotations

import random

import pytest

from statemachine.errors import StatesError
from statemachine.json_types import JSON
from statemachine.jsonata.expressions import Bindings, CompiledExpression, compile_expression, evaluate
from statemachine.jsonata.fast import compile_condition

VALUES: dict[str, JSON] = {
    "int": 20,
    "zero": 0,
    "float": 20.0,
    "half": 2.5,
    "neg": -1,
    "str": "open",
    "digits": "20",
    "empty": "",
    "yes": True,
    "no": False,
    "nil": None,
    "list": [20],
    "obj": {"int": 20},
}
BINDINGS = Bindings(
    states={"input": {**VALUES, "nested": dict(VALUES)}},
    variables=dict(VALUES),
    uuid4=lambda: "uuid",
    random=lambda: 0.5,
)
OPERANDS = [
    *(f"$states.input.{name}" for name in VALUES),
    "$states.input.nested.str",
    "$states.input.absent",
    "$states.input.list.x",
    "$int",
    "$str",
    "$nil",
    "$list",
    "$obj",
    "$obj.int",
    "$absent",
    "20",
    "20.0",
    "-1",
    "2.5e1",
    "0",
    "'open'",
    '"20"',
    "''",
    "true",
    "false",
    "null",
]
OPERATORS = ["=", "!=", "<", "<=", ">", ">="]


def outcome(expr: CompiledExpression) -> object:
    try:
        return evaluate(expr, BINDINGS, "Condition")
    except StatesError as err:
        return (err.name, err.cause)


SCALARS = [operand for operand in OPERANDS if not any(word in operand for word in ("list", "obj", "absent"))]


def random_condition(rng: random.Random, operands: list[str] = OPERANDS) -> str:
    def comparison() -> str:
        return f"{rng.choice(operands)} {rng.choice(OPERATORS)} {rng.choice(operands)}"

    parts = [comparison()]
    for _ in range(rng.randrange(3)):
        parts.append(rng.choice(["and", "or"]))
        parts.append(comparison())
    return " ".join(parts)


@pytest.mark.parametrize("operands", [OPERANDS, SCALARS], ids=["any-operand", "scalar-operands"])
def test_the_shortcut_agrees_with_the_engine_on_random_conditions(operands: list[str]) -> None:
    rng = random.Random(11)
    for _ in range(400):
        text = random_condition(rng, operands)
        fast = compile_expression(text)
        assert fast.condition is not None, text
        engine_only = CompiledExpression(fast.text, fast.program)
        assert outcome(fast) == outcome(engine_only), text


@pytest.mark.parametrize(
    "text",
    [
        "$states.input.value >= 20 and $states.input.value < 30",
        "$x = 'a' or $y != 1",
        "$states.input.done = true",
        "1 = 1",
        '$a.b = "c"',
        "$x>-1",
    ],
)
def test_common_choice_conditions_take_the_shortcut(text: str) -> None:
    assert compile_condition(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "$x",  # a bare path: the simple-path shortcut's job
        "$not($x)",
        "$x + 1 > 2",
        "$x.a[0] = 1",
        "($x = 1)",
        "$x = 'it\\'s'",
        "$x in [1, 2]",
        "$x = 1 and",
        "$x = 1e400",
        "$x.and = 1",
        "$x = 1 = 2",
    ],
)
def test_anything_else_is_left_to_the_engine(text: str) -> None:
    assert compile_condition(text) is None


def test_shortcut_results_are_booleans() -> None:
    assert evaluate(compile_expression("$int = 20 and $str = 'open'"), BINDINGS, "Condition") is True
    assert evaluate(compile_expression("$int < 3 or $str > 'z'"), BINDINGS, "Condition") is False
