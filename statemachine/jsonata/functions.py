"""Step Functions' own JSONata functions: $partition, $range, $hash, $random, $uuid, $parse.

Also replaced: JSONata's $now, $millis and $shuffle, which read the wall clock or Python's global
random generator (non-deterministic in a workflow), and $eval, which Step Functions removes.

They mirror the intrinsics they replace (same limits; a seeded ``$random`` uses the
``java.util.Random`` sequence, see ``intrinsics.functions.JavaRandom``), and take their effects
(uuid4, random, now) from the ``Effects`` of the evaluation in progress, so that one registered
function object serves every evaluation without re-binding. Bad arguments raise
``FunctionError``, which ``statemachine.jsonata.engine`` turns into States.QueryEvaluationError.
Also here: the conversions between plain JSON and the engine's values (``to_engine``, ``to_json``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from jsonata import jsonata as jsonata_engine
from jsonata.functions import Functions
from jsonata.utils import Utils

from statemachine.intrinsics import HASH_ALGORITHMS, MAX_RANGE_ITEMS, JavaRandom, json_type
from statemachine.json_types import JSON


class FunctionError(Exception):
    """A Step Functions JSONata function was called with bad arguments."""


@dataclass(frozen=True, slots=True)
class Effects:
    """Where the functions get their randomness and time from during one evaluation."""

    uuid4: Callable[[], str]
    random: Callable[[], float]
    now: Callable[[], datetime] | None


CURRENT: Final[ContextVar[Effects]] = ContextVar("stepline_jsonata_effects")
"""Set by ``statemachine.jsonata.expressions`` around each (synchronous) evaluation."""


def to_json(value: Any) -> JSON:
    """A JSONata value as a fresh plain JSON value (null marker -> None, sequences -> lists).

    Raises TypeError for what JSON cannot hold (functions, regexes).
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value
    if value is Utils.NULL_VALUE:
        return None
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    raise TypeError(f"unsupported result type {type(value).__name__}")


def to_engine(value: JSON) -> Any:
    """A JSON value as the engine expects it: nulls in arrays (and a top-level null) become its
    null marker, since it reads None as *undefined*. Returns ``value`` itself when nothing changes,
    so the common case copies nothing. (Hot: exact type checks, no recursion into scalars.)"""
    if type(value) is dict:
        changed: dict[str, Any] | None = None
        for key, item in value.items():
            item_kind = type(item)
            if item_kind is dict or item_kind is list:
                converted = to_engine(item)
                if converted is not item:
                    changed = changed if changed is not None else dict(value)
                    changed[key] = converted
        return value if changed is None else changed
    if type(value) is list:
        replaced: list[Any] | None = None
        for index, item in enumerate(value):
            if item is None:
                converted = Utils.NULL_VALUE
            else:
                item_kind = type(item)
                if item_kind is not dict and item_kind is not list:
                    continue
                converted = to_engine(item)
                if converted is item:
                    continue
            replaced = replaced if replaced is not None else list(value)
            replaced[index] = converted
        return value if replaced is None else replaced
    return Utils.NULL_VALUE if value is None else value


def _number(function: str, value: JSON, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
        raise FunctionError(f"{function}: the {what} must be an integer, but was {json.dumps(value)}")
    return int(value)


def partition(array: Any = None, size: Any = None, *extra: Any) -> Any:
    """$partition(array, chunkSize): split an array into chunks, the last one shorter."""
    items, chunk = to_json(array), to_json(size)
    if extra or not isinstance(items, list):
        raise FunctionError(f"$partition: the first argument must be an array, but was {json_type(items)}")
    length = _number("$partition", chunk, "chunk size")
    if length <= 0:
        raise FunctionError(f"$partition: the chunk size must be a positive integer, but was {length}")
    return [items[start : start + length] for start in range(0, len(items), length)]


def range_(start: Any = None, end: Any = None, step: Any = None, *extra: Any) -> Any:
    """$range(start, end, step): integers from start to end inclusive (a JSONata sequence)."""
    if extra:
        raise FunctionError("$range: expected 3 arguments")
    first = _number("$range", to_json(start), "start")
    last = _number("$range", to_json(end), "end")
    increment = _number("$range", to_json(step), "step")
    if increment == 0:
        raise FunctionError("$range: the step must not be 0")
    values = range(first, last + 1 if increment > 0 else last - 1, increment)
    if len(values) > MAX_RANGE_ITEMS:
        raise FunctionError(
            f"$range: the range would hold {len(values)} items; the limit is {MAX_RANGE_ITEMS}"
        )
    return Utils.create_sequence_from_iter(values)


def hash_(data: Any = None, algorithm: Any = None, *extra: Any) -> Any:
    """$hash(data, algorithm): hex digest with MD5, SHA-1, SHA-256, SHA-384 or SHA-512."""
    text, name = to_json(data), to_json(algorithm)
    if extra or not isinstance(text, str):
        raise FunctionError(f"$hash: the data must be a string, but was {json_type(text)}")
    if name not in HASH_ALGORITHMS:
        raise FunctionError(
            f"$hash: unsupported algorithm {json.dumps(name)}; use one of {', '.join(HASH_ALGORITHMS)}"
        )
    return hashlib.new(HASH_ALGORITHMS[name], text.encode()).hexdigest()


def random(seed: Any = None, *extra: Any) -> Any:
    """$random([seed]): a float in [0, 1); the same seed always gives the same number."""
    if extra:
        raise FunctionError("$random: expected at most 1 argument")
    if seed is None:
        return CURRENT.get().random()
    return JavaRandom(_number("$random", to_json(seed), "seed")).next_double()


def uuid(*extra: Any) -> Any:
    """$uuid(): a version 4 UUID, from the host."""
    if extra:
        raise FunctionError("$uuid: expected no arguments")
    return CURRENT.get().uuid4()


def parse(text: Any = None, *extra: Any) -> Any:
    """$parse(jsonString): the JSON value the string holds."""
    value = to_json(text)
    if extra or not isinstance(value, str):
        raise FunctionError(f"$parse: the argument must be a string, but was {json_type(value)}")
    try:
        parsed = json.loads(value)
    except ValueError as err:
        raise FunctionError(f"$parse: the string is not valid JSON ({err.args[0]})") from None
    return Utils.NULL_VALUE if parsed is None else parsed


def shuffle(array: Any = None, *extra: Any) -> Any:
    """$shuffle(array): JSONata's shuffle, drawing from the host's random source (Fisher-Yates),
    so that replaying a workflow shuffles the same way."""
    if extra:
        raise FunctionError("$shuffle: expected 1 argument")
    if array is None:
        return None
    items = list(array) if isinstance(array, list) else [array]
    draw = CURRENT.get().random
    for last in range(len(items) - 1, 0, -1):
        other = min(int(draw() * (last + 1)), last)
        items[last], items[other] = items[other], items[last]
    return items


def eval_(*_args: Any) -> Any:
    """$eval is removed in Step Functions (use $parse); calling it is an error, as on AWS."""
    raise FunctionError("$eval is not supported in Step Functions; use $parse instead")


def _now_millis() -> int:
    clock = CURRENT.get().now
    if clock is None:
        raise FunctionError("$now and $millis need a clock, and none was given for this evaluation")
    return int(clock().timestamp() * 1000)


def millis(*_args: Any) -> Any:
    """$millis(): milliseconds since the epoch, from the host's clock (deterministic in workflows)."""
    return _now_millis()


def now(picture: Any = None, timezone: Any = None, *_extra: Any) -> Any:
    """$now([picture [, timezone]]): the host's time as ISO 8601 text (or formatted by picture)."""
    return Functions.datetime_from_millis(_now_millis(), to_json(picture), to_json(timezone))


FUNCTIONS: Final[Mapping[str, Callable[..., Any]]] = {
    "partition": partition,
    "range": range_,
    "hash": hash_,
    "random": random,
    "shuffle": shuffle,
    "uuid": uuid,
    "parse": parse,
    "eval": eval_,
    "now": now,
    "millis": millis,
}


def bind_all(frame: Any) -> None:
    """Register every function in a jsonata-python Frame."""
    for name, function in FUNCTIONS.items():
        frame.bind(name, jsonata_engine.Jsonata.JLambda(function))
