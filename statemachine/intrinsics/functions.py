"""The 18 ASL intrinsic functions, each a pure function of already-evaluated argument values.

Behaviour follows what AWS Step Functions does (recorded in the conformance corpus): States.MathAdd
rounds each operand half-up like Java's ``Math.round``, States.StringSplit drops empty tokens like
Java's ``StringTokenizer``, States.Format prints objects and arrays the way Java's ``toString``
does (``{a=1, b=[]}``). A seeded States.MathRandom uses ``java.util.Random``'s sequence, so the
same seed always gives the same number (AWS runs on the JVM; the corpus masks the value, so the
exact numbers are unverified). Every bad argument raises ``StatesError("States.IntrinsicFailure",
...)``; the cause texts are ours (the corpus has no IntrinsicFailure case to copy them from).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Final, NoReturn, cast

from statemachine.errors import StatesError
from statemachine.json_types import JSON

INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"
MAX_RANGE_ITEMS: Final = 1000
MAX_ENCODE_CHARS: Final = 10_000
INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
HASH_ALGORITHMS: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def fail(function: str, problem: str) -> NoReturn:
    """Raise the run-time error AWS gives for bad intrinsic arguments."""
    raise StatesError(INTRINSIC_FAILURE, f"Invalid arguments in {function}: {problem}")


def json_type(value: JSON) -> str:
    """The JSON type name of a value, as error messages spell it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def check_count(function: str, args: Sequence[JSON], low: int, high: int | None = None) -> None:
    """Fail unless ``low <= len(args) <= high`` (``high=None``: exactly ``low``)."""
    high = low if high is None else high
    if low <= len(args) <= high:
        return
    expected = str(low) if low == high else f"{low} to {high}"
    fail(function, f"expected {expected} argument(s) but got {len(args)}")


def _expect(function: str, value: JSON, kind: type | tuple[type, ...], name: str, what: str) -> None:
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        fail(function, f"the {what} must be {name}, but was {json_type(value)}")


def _string(function: str, value: JSON, what: str) -> str:
    _expect(function, value, str, "a string", what)
    return str(value)


def _array(function: str, value: JSON, what: str) -> list[JSON]:
    _expect(function, value, list, "an array", what)
    return cast(list[JSON], value)


def _integer(function: str, value: JSON, what: str) -> int:
    """A whole number (an integral float such as 2.0 counts)."""
    _expect(function, value, (int, float), "an integer", what)
    if isinstance(value, float) and not value.is_integer():
        fail(function, f"the {what} must be an integer, but was {value!r}")
    return int(cast(float, value))


def _rounded(function: str, value: JSON, what: str) -> int:
    """A number rounded half-up, as Java's Math.round does (AWS rounds 1.5 to 2, -1.5 to -1)."""
    _expect(function, value, (int, float), "a number", what)
    if isinstance(value, int):
        return value
    number = cast(float, value)
    if not math.isfinite(number):
        fail(function, f"the {what} must be a finite number")
    floor = math.floor(number)
    return floor + 1 if number - floor >= 0.5 else floor  # exact, unlike floor(number + 0.5)


def json_key(value: JSON) -> object:
    """A hashable form with JSON equality: booleans differ from numbers, 1 equals 1.0."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, list):
        return ("l", tuple(json_key(item) for item in value))
    if isinstance(value, dict):
        return ("d", frozenset((key, json_key(item)) for key, item in value.items()))
    return ("s", value) if isinstance(value, str) else ("z",)


def java_double(value: float) -> str:
    """Java's ``Double.toString``: ``1.0``, ``1.1``, ``1.0E20``, ``1.5E-5``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    mantissa = text[0] + "." + (text[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{exponent + len(text) - 1}"


def java_string(value: JSON) -> str:
    """How AWS prints a value into States.Format: Java's toString of the JSON tree."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(java_string(item) for item in value) + "]"
    return "{" + ", ".join(f"{key}={java_string(item)}" for key, item in value.items()) + "}"


def format_template(template: str, args: Sequence[JSON]) -> str:
    """Fill each ``{}`` with the next argument; ``\\{``, ``\\}``, ``\\'`` and ``\\\\`` are literal."""
    function = "States.Format"
    out: list[str] = []
    used = 0
    pos = 0
    size = len(template)
    while pos < size:
        char = template[pos]
        if char == "\\" and pos + 1 < size and template[pos + 1] in "{}'\\":
            out.append(template[pos + 1])
            pos += 2
            continue
        if char == "{" and template.startswith("{}", pos):
            if used == len(args):
                fail(function, f"the template has more placeholders than the {len(args)} argument(s) given")
            out.append(java_string(args[used]))
            used += 1
            pos += 2
            continue
        out.append(char)
        pos += 1
    if used != len(args):
        fail(function, f"the template has {used} placeholder(s) but {len(args)} argument(s) were given")
    return "".join(out)


def states_format(args: Sequence[JSON]) -> JSON:
    if not args:
        fail("States.Format", "expected at least 1 argument but got 0")
    return format_template(_string("States.Format", args[0], "template"), args[1:])


def string_to_json(args: Sequence[JSON]) -> JSON:
    check_count("States.StringToJson", args, 1)
    text = _string("States.StringToJson", args[0], "argument")
    if not text.strip():
        return None
    try:
        value: JSON = json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:
        fail("States.StringToJson", f"the string is not valid JSON ({err.args[0]})")
    return value


def _reject_constant(name: str) -> JSON:
    raise ValueError(f"{name} is not a JSON value")


def json_to_string(args: Sequence[JSON]) -> JSON:
    check_count("States.JsonToString", args, 1)
    return java_json(args[0])


def java_json(value: JSON) -> str:
    """Compact JSON as AWS's Jackson writes it: like json.dumps, but doubles as Java prints them
    (``1.0E20``, not ``1e+20``)."""
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, list):
        return "[" + ",".join(java_json(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_quote(key)}:{java_json(item)}" for key, item in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


def _quote(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def array(args: Sequence[JSON]) -> JSON:
    return list(args)


def array_partition(args: Sequence[JSON]) -> JSON:
    function = "States.ArrayPartition"
    check_count(function, args, 2)
    items = _array(function, args[0], "first argument")
    size = _integer(function, args[1], "chunk size")
    if size <= 0:
        fail(function, f"the chunk size must be a positive integer, but was {size}")
    return [items[start : start + size] for start in range(0, len(items), size)]


def array_contains(args: Sequence[JSON]) -> JSON:
    check_count("States.ArrayContains", args, 2)
    items = _array("States.ArrayContains", args[0], "first argument")
    wanted = json_key(args[1])
    return any(json_key(item) == wanted for item in items)


def array_range(args: Sequence[JSON]) -> JSON:
    function = "States.ArrayRange"
    check_count(function, args, 3)
    start = _integer(function, args[0], "start")
    end = _integer(function, args[1], "end")
    step = _integer(function, args[2], "step")
    if step == 0:
        fail(function, "the step must not be 0")
    values = range(start, end + 1 if step > 0 else end - 1, step)
    if len(values) > MAX_RANGE_ITEMS:
        fail(function, f"the range would hold {len(values)} items; at most {MAX_RANGE_ITEMS} are allowed")
    return list(values)


def array_get_item(args: Sequence[JSON]) -> JSON:
    function = "States.ArrayGetItem"
    check_count(function, args, 2)
    items = _array(function, args[0], "first argument")
    index = _integer(function, args[1], "index")
    if not 0 <= index < len(items):
        fail(function, f"the index {index} is out of bounds for an array of {len(items)} item(s)")
    return items[index]


def array_length(args: Sequence[JSON]) -> JSON:
    check_count("States.ArrayLength", args, 1)
    return len(_array("States.ArrayLength", args[0], "argument"))


def array_unique(args: Sequence[JSON]) -> JSON:
    check_count("States.ArrayUnique", args, 1)
    seen: set[object] = set()
    unique: list[JSON] = []
    for item in _array("States.ArrayUnique", args[0], "argument"):
        key = json_key(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _limited_string(function: str, value: JSON) -> str:
    text = _string(function, value, "argument")
    if len(text) > MAX_ENCODE_CHARS:
        fail(function, f"the input is {len(text)} characters long; the limit is {MAX_ENCODE_CHARS}")
    return text


def base64_encode(args: Sequence[JSON]) -> JSON:
    check_count("States.Base64Encode", args, 1)
    text = _limited_string("States.Base64Encode", args[0])
    return base64.b64encode(text.encode()).decode("ascii")


def base64_decode(args: Sequence[JSON]) -> JSON:
    function = "States.Base64Decode"
    check_count(function, args, 1)
    text = _limited_string(function, args[0])
    try:
        return base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as err:
        fail(function, f"the input is not valid Base64-encoded UTF-8 ({err})")


def states_hash(args: Sequence[JSON]) -> JSON:
    function = "States.Hash"
    check_count(function, args, 2)
    data = _limited_string(function, args[0])
    algorithm = _string(function, args[1], "algorithm")
    if algorithm not in HASH_ALGORITHMS:
        fail(function, f"unsupported algorithm {algorithm!r}; use one of {', '.join(HASH_ALGORITHMS)}")
    return hashlib.new(HASH_ALGORITHMS[algorithm], data.encode()).hexdigest()


def json_merge(args: Sequence[JSON]) -> JSON:
    function = "States.JsonMerge"
    check_count(function, args, 3)
    _expect(function, args[0], dict, "an object", "first argument")
    _expect(function, args[1], dict, "an object", "second argument")
    _expect(function, args[2], bool, "a boolean", "deep-merge flag")
    if args[2]:
        fail(function, "only shallow merging is supported; the deep-merge flag must be false")
    return {**cast(dict[str, JSON], args[0]), **cast(dict[str, JSON], args[1])}


class JavaRandom:
    """``java.util.Random``'s generator, so a seeded States.MathRandom matches AWS exactly."""

    _MULTIPLIER: Final = 0x5DEECE66D
    _MASK: Final = (1 << 48) - 1

    def __init__(self, seed: int) -> None:
        self._seed = (seed ^ self._MULTIPLIER) & self._MASK

    def _next(self, bits: int) -> int:
        self._seed = (self._seed * self._MULTIPLIER + 0xB) & self._MASK
        return self._seed >> (48 - bits)

    def next_double(self) -> float:
        """Uniform in [0, 1), as ``Random.nextDouble``."""
        return ((self._next(26) << 27) + self._next(27)) * 2.0**-53

    def next_int(self, bound: int) -> int:
        """Uniform in [0, bound), the same sequence Java produces."""
        if bound & -bound == bound:
            return (bound * self._next(31)) >> 31
        while True:
            bits = self._next(31)
            value = bits % bound
            if bits - value + (bound - 1) < 2**31:
                return value


def math_random(args: Sequence[JSON], random: Callable[[], float]) -> JSON:
    function = "States.MathRandom"
    check_count(function, args, 2, 3)
    start = _rounded(function, args[0], "start")
    end = _rounded(function, args[1], "end")
    if start >= end:
        fail(function, f"the start ({start}) must be less than the end ({end})")
    if len(args) == 3:
        seed = _integer(function, args[2], "seed")
        return start + JavaRandom(seed).next_int(end - start)
    return start + min(int(random() * (end - start)), end - start - 1)


def math_add(args: Sequence[JSON]) -> JSON:
    function = "States.MathAdd"
    check_count(function, args, 2)
    total = 0
    for what, value in (("first argument", args[0]), ("second argument", args[1])):
        number = _rounded(function, value, what)
        if not INT32_MIN <= number <= INT32_MAX:
            fail(function, f"the {what} ({number}) is outside the range {INT32_MIN} to {INT32_MAX}")
        total += number
    return total


def string_split(args: Sequence[JSON]) -> JSON:
    """Split on any of the delimiter characters and drop empty tokens (Java StringTokenizer)."""
    function = "States.StringSplit"
    check_count(function, args, 2)
    text = _string(function, args[0], "first argument")
    delimiters = _string(function, args[1], "delimiter")
    if not delimiters:
        return [text] if text else []
    tokens: list[JSON] = []
    current: list[str] = []
    for char in text:
        if char in delimiters:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        tokens.append("".join(current))
    return tokens
