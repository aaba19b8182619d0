"""Micro-benchmark of the per-state cost of JSONata and intrinsic evaluation.

    python3 bench/query_languages.py [--json FILE]

Prints microseconds per call (best of five runs) for typical expressions: what the interpreter
pays each time a state evaluates Arguments/Output/Assign (JSONata) or a ``.$`` intrinsic.
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable
from functools import partial

from statemachine import (
    JSON,
    IntrinsicEffects,
    JsonataBindings,
    compile_jsonata,
    compile_jsonata_template,
    evaluate_intrinsic,
    evaluate_jsonata,
    parse_intrinsic,
    render_jsonata,
)

STATES: dict[str, JSON] = {
    "input": {"n": 1, "name": "x", "items": list(range(10)), "order": {"id": "o-1", "total": 12.5}},
    "context": {"Execution": {"Id": "arn:aws:states:us-east-1:1:execution:m:e", "Name": "e"}},
}
VARIABLES: dict[str, JSON] = {f"v{i}": i for i in range(50)}
BINDINGS = JsonataBindings(STATES, VARIABLES, uuid4=lambda: "uuid", random=lambda: 0.5)

JSONATA = [
    "$v7",
    "$states.input.order.id",
    "$states.input",
    "$states.input.n + 1",
    "$states.input.n >= 1 and $states.input.name = 'x'",
    "$sum($states.input.items)",
    "{'id': $states.input.order.id, 'n': $v3}",
    "$partition($states.input.items, 3)",
    "$states.input.items[$ > 4]",
]
TEMPLATES: dict[str, JSON] = {
    "literal template": {"a": 1, "b": [1, 2, {"c": "x"}]},
    "2-expression template": {"id": "{% $states.input.order.id %}", "b": {"n": "{% $states.input.n + 1 %}"}},
}
INTRINSICS = [
    "States.MathAdd($.n, 1)",
    "States.Format('order {} of {}', $.name, $.n)",
    "States.ArrayGetItem(States.StringSplit($.csv, ','), 1)",
    "States.Hash($.name, 'SHA-256')",
]
INTRINSIC_DATA: dict[str, JSON] = {"n": 1, "name": "x", "csv": "a,b,c"}


def per_call_us(function: Callable[[], object], number: int = 2000) -> float:
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6


def measure() -> dict[str, float]:
    results: dict[str, float] = {}
    for text in JSONATA:
        expr = compile_jsonata(text)
        results[f"jsonata evaluate {text}"] = per_call_us(partial(evaluate_jsonata, expr, BINDINGS, "Output"))
    for name, value in TEMPLATES.items():
        template = compile_jsonata_template(value, "Output")
        results[f"jsonata render {name}"] = per_call_us(partial(render_jsonata, template, BINDINGS))
    effects = IntrinsicEffects(uuid4=lambda: "uuid", random=lambda: 0.5)

    def resolve(path: str) -> JSON:
        return INTRINSIC_DATA[path[2:]]

    for text in INTRINSICS:
        call = parse_intrinsic(text)
        results[f"intrinsic {text}"] = per_call_us(partial(evaluate_intrinsic, call, resolve, effects))
    results["compile_expression (cached)"] = per_call_us(lambda: compile_jsonata("$states.input.n + 1"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures (microseconds per call) to this file")
    options = parser.parse_args()
    results = measure()
    width = max(map(len, results))
    for name, micros in results.items():
        print(f"{name:<{width}}  {micros:8.2f} us")
    if options.json:
        with open(options.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
