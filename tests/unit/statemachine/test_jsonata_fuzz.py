"""Garbage in, clear error out: random token soups never escape as anything but our errors."""

from __future__ import annotations

import random

from statemachine.errors import StatesError
from statemachine.jsonata.expressions import Bindings, JsonataSyntaxError, compile_expression, evaluate

TOKENS = [
    "$", "$states", ".input", ".a", "(", ")", "[", "]", "{", "}", "'", '"', ",", ":", ";", "+", "-", "*",
    "/", "%", "&", "|", "=", "!=", "<", ">", "?", ":=", "..", "^", "~>", "@", "#", "1", "0.5", "e", "x",
    " ", "function", "and", "or", "in", "true", "null", "$sum", "/re/", "\\", "`", "**", "$$", "$x",
    "$string", "$map", "$shuffle", "$partition", "$range", "$parse", "$hash", "$uuid", "$random",
]  # fmt: skip
BINDINGS = Bindings(
    states={"input": {"a": [1, None, {"b": 2}], "s": "text"}},
    variables={"x": 1},
    uuid4=lambda: "uuid",
    random=lambda: 0.5,
)


def test_random_expressions_compile_and_evaluate_or_fail_cleanly() -> None:
    rng = random.Random(20241126)
    outcomes = {"compiled": 0, "syntax": 0, "evaluated": 0, "evaluation-error": 0}
    for _ in range(1500):
        text = "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 10)))
        try:
            expr = compile_expression(text)
        except JsonataSyntaxError:
            outcomes["syntax"] += 1
            continue
        outcomes["compiled"] += 1
        try:
            evaluate(expr, BINDINGS, "Output")
            outcomes["evaluated"] += 1
        except StatesError as err:
            assert err.name == "States.QueryEvaluationError"
            outcomes["evaluation-error"] += 1
    assert all(count > 0 for count in outcomes.values()), outcomes
