"""ASL intrinsic functions: parse a call once, evaluate it against the current data.

    call = parse_intrinsic("States.Format('Hello {}', $.name)")   # cached by text
    evaluate_intrinsic(call, resolve, effects)                     # -> "Hello World"

Path arguments are resolved by the interpreter through ``resolve(path_text)`` (its exceptions pass
through untouched), and the only effects, States.UUID and unseeded States.MathRandom, go through
``IntrinsicEffects`` so the Temporal host stays deterministic. Bad arguments raise
``StatesError("States.IntrinsicFailure", cause)``; a malformed call raises IntrinsicSyntaxError.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from statemachine.intrinsics import functions as fn
from statemachine.intrinsics.parser import (
    FUNCTION_NAMES,
    Argument,
    IntrinsicCall,
    IntrinsicSyntaxError,
    Literal,
    PathArgument,
    StringLiteral,
    is_intrinsic,
    parse_intrinsic,
    path_arguments,
)
from statemachine.json_types import JSON

__all__ = [
    "FUNCTION_NAMES",
    "Argument",
    "IntrinsicCall",
    "IntrinsicEffects",
    "IntrinsicSyntaxError",
    "Literal",
    "PathArgument",
    "StringLiteral",
    "evaluate_intrinsic",
    "is_intrinsic",
    "parse_intrinsic",
    "path_arguments",
]


@dataclass(frozen=True)
class IntrinsicEffects:
    """The effects intrinsics may use; hosts pass deterministic sources (workflow.uuid4 etc.)."""

    uuid4: Callable[[], str]
    random: Callable[[], float]
    """A float in [0, 1), for States.MathRandom without a seed."""


_PURE: Final[dict[str, Callable[[Sequence[JSON]], JSON]]] = {
    "States.Format": fn.states_format,
    "States.StringToJson": fn.string_to_json,
    "States.JsonToString": fn.json_to_string,
    "States.Array": fn.array,
    "States.ArrayPartition": fn.array_partition,
    "States.ArrayContains": fn.array_contains,
    "States.ArrayRange": fn.array_range,
    "States.ArrayGetItem": fn.array_get_item,
    "States.ArrayLength": fn.array_length,
    "States.ArrayUnique": fn.array_unique,
    "States.Base64Encode": fn.base64_encode,
    "States.Base64Decode": fn.base64_decode,
    "States.Hash": fn.states_hash,
    "States.JsonMerge": fn.json_merge,
    "States.MathAdd": fn.math_add,
    "States.StringSplit": fn.string_split,
}


def evaluate_intrinsic(
    call: IntrinsicCall, resolve: Callable[[str], JSON], effects: IntrinsicEffects
) -> JSON:
    """Evaluate a parsed call: arguments left to right, nested calls first, then the function.

    The result shares no list or object with what ``resolve`` returned, so callers may mutate it.
    """
    result = _call(call, resolve, effects)
    return _copy(result) if isinstance(result, list | dict) else result


def _call(call: IntrinsicCall, resolve: Callable[[str], JSON], effects: IntrinsicEffects) -> JSON:
    args = [_argument(arg, resolve, effects) for arg in call.args]
    name = call.name
    if name == "States.Format" and call.args and isinstance(call.args[0], StringLiteral):
        # The template's escapes are interpreted by Format itself, so \{ stays a literal brace.
        args[0] = call.args[0].raw
    pure = _PURE.get(name)
    if pure is not None:
        return pure(args)
    if name == "States.UUID":
        fn.check_count(name, args, 0)
        return effects.uuid4()
    if name == "States.MathRandom":
        return fn.math_random(args, effects.random)
    raise AssertionError(f"parser accepted unknown intrinsic {name}")  # FUNCTION_NAMES guards this


def _argument(arg: Argument, resolve: Callable[[str], JSON], effects: IntrinsicEffects) -> JSON:
    match arg:
        case PathArgument(text):
            return resolve(text)
        case StringLiteral(value):
            return value
        case Literal(value):
            return value
        case IntrinsicCall():
            return _call(arg, resolve, effects)


def _copy(value: JSON) -> JSON:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
