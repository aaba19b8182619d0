"""EventBridge event patterns: compile once, match many events (pure; no I/O).

The documented pattern language: a JSON object whose keys follow the event's structure; a nested
object descends into the event, an array lists the values a leaf field may take (any one matches,
and every field listed must match). Array values are exact strings, numbers (compared numerically),
booleans and ``null``, or one-key objects: ``prefix``/``suffix`` (optionally
``{"equals-ignore-case": ...}``), ``equals-ignore-case``, ``wildcard``, ``anything-but`` (values,
``prefix``, ``suffix``, ``equals-ignore-case``, ``wildcard``), ``numeric`` ranges, ``exists`` and
``cidr``. ``"$or": [pattern, ...]`` at any level matches when one alternative does. An array in the
event matches when any of its elements does (objects in an array are matched element by element, so
the fields a nested pattern names come from one element). ``null`` and ``""`` are distinct values;
an object is not a leaf, so ``exists`` looks at leaves only.

``compile_pattern`` rejects a bad pattern with ``InvalidEventPatternException`` naming the problem
and where it is (``detail.state[0]``).
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

JsonValue = Any
"""A decoded JSON value (dict, list, str, int, float, bool or None)."""

_NUMERIC_OPERATORS: Final = frozenset({"=", "<", "<=", ">", ">="})
_MAX_DEPTH: Final = 64


class InvalidEventPatternException(ValueError):
    """The event pattern is not valid; the message says what is wrong and where."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Event pattern is not valid. Reason: {reason}")
        self.reason = reason


# -- leaf matchers -------------------------------------------------------------------------------


def _is_number(value: JsonValue) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same_value(left: JsonValue, right: JsonValue) -> bool:
    """JSON equality without Python's ``True == 1``: numbers compare numerically."""
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    return type(left) is type(right) and bool(left == right)


@dataclass(frozen=True, slots=True)
class Exact:
    """A literal value: a string, number, boolean or null."""

    value: JsonValue

    def accepts(self, value: JsonValue) -> bool:
        """True when the event value equals the literal."""
        return _same_value(value, self.value)


@dataclass(frozen=True, slots=True)
class Prefix:
    """``{"prefix": s}`` or ``{"prefix": {"equals-ignore-case": s}}``."""

    text: str
    ignore_case: bool = False

    def accepts(self, value: JsonValue) -> bool:
        """True for a string starting with the prefix."""
        if not isinstance(value, str):
            return False
        if self.ignore_case:
            return value.casefold().startswith(self.text.casefold())
        return value.startswith(self.text)


@dataclass(frozen=True, slots=True)
class Suffix:
    """``{"suffix": s}`` or ``{"suffix": {"equals-ignore-case": s}}``."""

    text: str
    ignore_case: bool = False

    def accepts(self, value: JsonValue) -> bool:
        """True for a string ending with the suffix."""
        if not isinstance(value, str):
            return False
        if self.ignore_case:
            return value.casefold().endswith(self.text.casefold())
        return value.endswith(self.text)


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase:
    """``{"equals-ignore-case": s}``."""

    text: str

    def accepts(self, value: JsonValue) -> bool:
        """True for a string equal to the text in any casing."""
        return isinstance(value, str) and value.casefold() == self.text.casefold()


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``{"wildcard": "dir/*.png"}``: ``*`` is any run of characters, ``\\*`` a literal star.

    Matched as a glob (the literal pieces between stars, in order), in time linear in the value's
    length whatever the pattern: a regular expression of many stars backtracks on a hostile value.
    """

    pieces: tuple[str, ...]
    """The literal text between stars (one more piece than stars)."""

    def accepts(self, value: JsonValue) -> bool:
        """True for a string the wildcard covers entirely."""
        if not isinstance(value, str):
            return False
        pieces = self.pieces
        if len(pieces) == 1:
            return value == pieces[0]
        first, last = pieces[0], pieces[-1]
        if len(value) < len(first) + len(last) or not value.startswith(first) or not value.endswith(last):
            return False
        position, end = len(first), len(value) - len(last)
        for piece in pieces[1:-1]:
            found = value.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True


@dataclass(frozen=True, slots=True)
class Numeric:
    """``{"numeric": [">", 0, "<=", 5]}``: every bound must hold."""

    bounds: tuple[tuple[str, float], ...]

    def accepts(self, value: JsonValue) -> bool:
        """True for a number within all the bounds."""
        if not _is_number(value):
            return False
        return all(_compare(value, operator, limit) for operator, limit in self.bounds)


@dataclass(frozen=True, slots=True)
class Cidr:
    """``{"cidr": "10.0.0.0/24"}``: an IP address string inside the block."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    def accepts(self, value: JsonValue) -> bool:
        """True for an IP address string within the network."""
        if not isinstance(value, str):
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == self.network.version and address in self.network


@dataclass(frozen=True, slots=True)
class AnythingBut:
    """``{"anything-but": ...}``: present, and not matched by any of the excluded matchers.

    Literal exclusions accept a value of any type that differs from them; prefix, suffix,
    equals-ignore-case and wildcard exclusions accept strings only.
    """

    excluded: tuple[LeafMatcher, ...]
    strings_only: bool

    def accepts(self, value: JsonValue) -> bool:
        """True when no exclusion applies to the value."""
        if self.strings_only and not isinstance(value, str):
            return False
        return not any(matcher.accepts(value) for matcher in self.excluded)


@dataclass(frozen=True, slots=True)
class Exists:
    """``{"exists": true|false}``: whether the field holds a leaf value (objects are not leaves)."""

    expected: bool


LeafMatcher = Exact | Prefix | Suffix | EqualsIgnoreCase | Wildcard | Numeric | Cidr | AnythingBut
"""A matcher applied to one leaf value of the event."""


def _compare(value: float, operator: str, limit: float) -> bool:
    match operator:
        case "=":
            return value == limit
        case "<":
            return value < limit
        case "<=":
            return value <= limit
        case ">":
            return value > limit
        case _:
            return value >= limit


# -- compiled pattern --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeafField:
    """A field whose pattern is an array of matchers (any one must match)."""

    key: str
    matchers: tuple[LeafMatcher | Exists, ...]

    def matches(self, event: Mapping[str, JsonValue]) -> bool:
        """True when one matcher accepts one of the field's leaf values (or its absence)."""
        leaves = _leaves(event[self.key]) if self.key in event else []
        for matcher in self.matchers:
            if isinstance(matcher, Exists):
                if matcher.expected == bool(leaves):
                    return True
            elif any(matcher.accepts(leaf) for leaf in leaves):
                return True
        return False


@dataclass(frozen=True, slots=True)
class NestedField:
    """A field whose pattern is an object: the event's object (or one element of its array)."""

    key: str
    pattern: Pattern

    def matches(self, event: Mapping[str, JsonValue]) -> bool:
        """True when the nested object, or any object in the nested array, matches."""
        value = event.get(self.key)
        objects = [item for item in _flatten(value) if isinstance(item, dict)]
        if not objects:
            return self.pattern.matches({})
        return any(self.pattern.matches(item) for item in objects)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled event pattern: every field matches, and one alternative of each ``$or``."""

    fields: tuple[LeafField | NestedField, ...]
    alternatives: tuple[tuple[Pattern, ...], ...] = ()

    def matches(self, event: Mapping[str, JsonValue]) -> bool:
        """True when the event (a decoded JSON object) matches this pattern."""
        if not isinstance(event, Mapping):
            return False
        if not all(field.matches(event) for field in self.fields):
            return False
        return all(any(choice.matches(event) for choice in group) for group in self.alternatives)


def _flatten(value: JsonValue) -> list[JsonValue]:
    """The value itself, or the elements of (nested) arrays, without recursion."""
    if not isinstance(value, list):
        return [value]
    flat: list[JsonValue] = []
    pending: list[JsonValue] = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, list):
            pending.extend(reversed(current))
        else:
            flat.append(current)
    return flat


def _leaves(value: JsonValue) -> list[JsonValue]:
    return [item for item in _flatten(value) if not isinstance(item, dict)]


# -- compilation -------------------------------------------------------------------------------


def compile_pattern(pattern_json: str | Mapping[str, JsonValue]) -> Pattern:
    """Parse (when given text) and validate an event pattern; raise on the first problem."""
    if isinstance(pattern_json, str):
        try:
            document = json.loads(pattern_json)
        except RecursionError:
            raise InvalidEventPatternException("the pattern is nested too deeply") from None
        except json.JSONDecodeError as error:
            raise InvalidEventPatternException(
                f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            ) from None
    else:
        document = pattern_json
    if not isinstance(document, Mapping):
        raise InvalidEventPatternException("the pattern must be a JSON object")
    return _compile_object(document, "", 0)


def _where(path: str) -> str:
    return path or "the top level"


def _compile_object(document: Mapping[str, JsonValue], path: str, depth: int) -> Pattern:
    if depth > _MAX_DEPTH:
        raise InvalidEventPatternException(f"the pattern is nested deeper than {_MAX_DEPTH} levels")
    if not document:
        raise InvalidEventPatternException(f"empty object at {_where(path)}")
    fields: list[LeafField | NestedField] = []
    alternatives: list[tuple[Pattern, ...]] = []
    for key, value in document.items():
        child = f"{path}.{key}" if path else key
        if key == "$or":
            alternatives.append(_compile_or(value, child, depth))
        elif isinstance(value, Mapping):
            fields.append(NestedField(key, _compile_object(value, child, depth + 1)))
        elif isinstance(value, list):
            fields.append(LeafField(key, _compile_leaf_list(value, child)))
        else:
            raise InvalidEventPatternException(
                f"{child} must be an object or an array of match values, not {_kind(value)}"
            )
    return Pattern(tuple(fields), tuple(alternatives))


def _compile_or(value: JsonValue, path: str, depth: int) -> tuple[Pattern, ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise InvalidEventPatternException(f"{path} must be an array of at least two objects")
    choices: list[Pattern] = []
    for index, choice in enumerate(value):
        if not isinstance(choice, Mapping):
            raise InvalidEventPatternException(f"{path}[{index}] must be an object")
        choices.append(_compile_object(choice, f"{path}[{index}]", depth + 1))
    return tuple(choices)


def _compile_leaf_list(values: list[JsonValue], path: str) -> tuple[LeafMatcher | Exists, ...]:
    if not values:
        raise InvalidEventPatternException(f"{path} is an empty array; list at least one value")
    return tuple(_compile_match_value(item, f"{path}[{index}]") for index, item in enumerate(values))


def _compile_match_value(value: JsonValue, path: str) -> LeafMatcher | Exists:
    if value is None or isinstance(value, str | bool):
        return Exact(value)
    if _is_number(value):
        return Exact(_finite(value, path))
    if isinstance(value, list):
        raise InvalidEventPatternException(f"{path}: match values cannot be nested arrays")
    if not isinstance(value, Mapping) or len(value) != 1:
        raise InvalidEventPatternException(
            f"{path}: a match object must have exactly one key (prefix, suffix, anything-but, "
            "numeric, exists, cidr, equals-ignore-case or wildcard)"
        )
    ((operator, operand),) = value.items()
    where = f"{path}.{operator}"
    match operator:
        case "prefix":
            return Prefix(*_affix(operand, where))
        case "suffix":
            return Suffix(*_affix(operand, where))
        case "equals-ignore-case":
            return EqualsIgnoreCase(_string(operand, where))
        case "wildcard":
            return Wildcard(_wildcard(operand, where))
        case "numeric":
            return Numeric(_numeric(operand, where))
        case "cidr":
            return Cidr(_cidr(operand, where))
        case "exists":
            if not isinstance(operand, bool):
                raise InvalidEventPatternException(f"{where} must be true or false")
            return Exists(operand)
        case "anything-but":
            return _anything_but(operand, where)
        case _:
            raise InvalidEventPatternException(f"{path}: unrecognized match type {operator!r}")


def _kind(value: JsonValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _string(operand: JsonValue, where: str) -> str:
    if not isinstance(operand, str):
        raise InvalidEventPatternException(f"{where} must be a string, not {_kind(operand)}")
    return operand


def _finite(number: float, where: str) -> float:
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidEventPatternException(f"{where}: numbers must be finite")
    return number


def _affix(operand: JsonValue, where: str) -> tuple[str, bool]:
    """A prefix/suffix operand: a string or ``{"equals-ignore-case": string}``."""
    if isinstance(operand, Mapping):
        if set(operand) != {"equals-ignore-case"}:
            raise InvalidEventPatternException(
                f"{where} takes a string or an object with only equals-ignore-case"
            )
        return _string(operand["equals-ignore-case"], f"{where}.equals-ignore-case"), True
    return _string(operand, where), False


def _wildcard(operand: JsonValue, where: str) -> tuple[str, ...]:
    text = _string(operand, where)
    pieces: list[str] = [""]
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            following = text[index + 1 : index + 2]
            if following not in {"*", "\\"}:
                raise InvalidEventPatternException(
                    f"{where}: a backslash may only escape '*' or '\\' (position {index})"
                )
            pieces[-1] += following
            index += 2
            continue
        if char == "*":
            if index > 0 and text[index - 1] == "*" and not pieces[-1]:
                raise InvalidEventPatternException(
                    f"{where}: consecutive wildcard characters at position {index}"
                )
            pieces.append("")
        else:
            pieces[-1] += char
        index += 1
    return tuple(pieces)


def _numeric(operand: JsonValue, where: str) -> tuple[tuple[str, float], ...]:
    if not isinstance(operand, list) or len(operand) not in {2, 4}:
        raise InvalidEventPatternException(
            f"{where} must be [operator, number] or [lower operator, number, upper operator, "
            'number], such as [">", 0, "<=", 5]'
        )
    bounds: list[tuple[str, float]] = []
    for index in range(0, len(operand), 2):
        operator, limit = operand[index], operand[index + 1]
        if operator not in _NUMERIC_OPERATORS:
            raise InvalidEventPatternException(
                f"{where}[{index}]: unknown operator {operator!r} (use =, <, <=, > or >=)"
            )
        if not _is_number(limit):
            raise InvalidEventPatternException(f"{where}[{index + 1}] must be a number, not {_kind(limit)}")
        bounds.append((operator, _finite(limit, f"{where}[{index + 1}]")))
    if len(bounds) == 2:
        (low_op, low), (high_op, high) = bounds
        if low_op not in {">", ">="} or high_op not in {"<", "<="}:
            raise InvalidEventPatternException(
                f"{where}: a range is a lower bound (> or >=) followed by an upper bound (< or <=)"
            )
        if low >= high:
            raise InvalidEventPatternException(
                f"{where}: the lower bound {low} must be below the upper bound {high}"
            )
    return tuple(bounds)


def _cidr(operand: JsonValue, where: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    text = _string(operand, where)
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidEventPatternException(f"{where}: {text!r} is not an IP address or CIDR block") from None


def _anything_but(operand: JsonValue, where: str) -> AnythingBut:
    if isinstance(operand, Mapping):
        if len(operand) != 1:
            raise InvalidEventPatternException(
                f"{where} takes one of prefix, suffix, equals-ignore-case or wildcard"
            )
        ((kind, inner),) = operand.items()
        inner_where = f"{where}.{kind}"
        match kind:
            case "prefix" | "suffix":
                text = _string(inner, inner_where)
                if not text:
                    raise InvalidEventPatternException(f"{inner_where} must not be empty")
                affix: LeafMatcher = Prefix(text) if kind == "prefix" else Suffix(text)
                return AnythingBut((affix,), strings_only=True)
            case "equals-ignore-case":
                texts = _strings(inner, inner_where)
                return AnythingBut(tuple(EqualsIgnoreCase(t) for t in texts), strings_only=True)
            case "wildcard":
                texts = _strings(inner, inner_where)
                return AnythingBut(
                    tuple(Wildcard(_wildcard(t, inner_where)) for t in texts), strings_only=True
                )
            case _:
                raise InvalidEventPatternException(
                    f"{where}: unsupported anything-but form {kind!r} (use prefix, suffix, "
                    "equals-ignore-case or wildcard)"
                )
    values = operand if isinstance(operand, list) else [operand]
    if not values:
        raise InvalidEventPatternException(f"{where} is an empty array")
    if all(isinstance(item, str) for item in values):
        return AnythingBut(tuple(Exact(item) for item in values), strings_only=False)
    if all(_is_number(item) for item in values):
        numbers = [_finite(item, where) for item in values]
        return AnythingBut(tuple(Exact(item) for item in numbers), strings_only=False)
    raise InvalidEventPatternException(
        f"{where} must be a string, a number, an array of only strings or only numbers, or an "
        "object (prefix, suffix, equals-ignore-case, wildcard)"
    )


def _strings(operand: JsonValue, where: str) -> Sequence[str]:
    values = operand if isinstance(operand, list) else [operand]
    if not values:
        raise InvalidEventPatternException(f"{where} is an empty array")
    return [_string(item, f"{where}[{index}]") for index, item in enumerate(values)]
