"""Requests checked and responses shaped by botocore's models, for every AWS protocol here.

``check_input(shape)`` compiles, once per shape, a checker of a decoded request against the
operation's input shape: wrong JSON types are a ``SerializationException`` (as AWS's JSON services
answer them); missing required members, enums, lengths, patterns and ranges are collected into one
``ValidationException`` in AWS's words ("2 validation errors detected: Value 'x' at 'name' failed to
satisfy constraint: Member must have length less than or equal to 80; ..."). Members the model does
not know are ignored, as AWS ignores them.

``shape_output(shape)`` compiles a serializer of a response dict: members the shape does not name
and None values are dropped, timestamps become epoch seconds (the JSON protocols' format), blobs
base64. Nested structures with nothing to convert below them (no timestamp, no blob) go out as the
handler built them: a 1,000-event history page then costs one small dict per event. Both are
closures built once per shape, so a request pays only for walking its own values.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from api.aws.errors import AwsError

Check = Callable[[Any, str, list[str]], None]
"""Checks one value at a path, appending constraint problems; raises AwsError on a wrong type."""
Serialize = Callable[[Any], Any]

_NOT_NULL = "Member must not be null"
_JAVA_ASCII = (r"\p{ASCII}", r"\x00-\x7f")
"""The one Java-only regex class the models use, and its range for Python's ``re``."""


class _Pending:
    """Stands in for a shape being compiled, so recursive shapes compile."""

    def __init__(self) -> None:
        self.target: Callable[..., Any] | None = None

    def __call__(self, *args: Any) -> Any:
        assert self.target is not None
        return self.target(*args)


# ---- input ------------------------------------------------------------------------------------------


@functools.cache
def check_input(shape: StructureShape) -> Callable[[dict[str, Any]], None]:
    """A checker for requests of ``shape``; raises AwsError (ValidationException/SerializationException)."""
    check = _checker(shape, {})

    def run(params: dict[str, Any]) -> None:
        problems: list[str] = []
        check(params, "", problems)
        if problems:
            count = len(problems)
            noun = "error" if count == 1 else "errors"
            raise AwsError(
                "ValidationException", f"{count} validation {noun} detected: " + "; ".join(problems)
            )

    return run


def _checker(shape: Shape, memo: dict[str, Check]) -> Check:
    if shape.name in memo:
        return memo[shape.name]
    pending = _Pending()
    memo[shape.name] = pending
    built = _build_checker(shape, memo)
    pending.target = built
    memo[shape.name] = built
    return built


def _build_checker(shape: Shape, memo: dict[str, Check]) -> Check:
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        return _structure_checker(shape, memo)
    if isinstance(shape, ListShape):
        return _list_checker(shape, _checker(shape.member, memo))
    if isinstance(shape, MapShape):
        return _map_checker(shape, _checker(shape.key, memo), _checker(shape.value, memo))
    if kind == "string":
        return _string_checker(shape)
    if kind in ("integer", "long", "float", "double"):
        return _number_checker(shape, integral=kind in ("integer", "long"))
    if kind == "boolean":
        return _typed(bool, "a boolean")
    if kind == "blob":
        return _typed(str, "a base64 string")
    if kind == "timestamp":
        return _typed((int, float, str), "a timestamp")
    return lambda value, path, problems: None  # documents: any JSON value


def _structure_checker(shape: StructureShape, memo: dict[str, Check]) -> Check:
    members = {name: _checker(member, memo) for name, member in shape.members.items()}
    required = tuple(shape.required_members)

    def check(value: Any, path: str, problems: list[str]) -> None:
        if not isinstance(value, dict):
            raise _wrong_type(path, "an object", value)
        prefix = f"{path}." if path else ""
        for name in required:
            if value.get(name) is None:
                problems.append(f"Value null at '{prefix}{name}' failed to satisfy constraint: {_NOT_NULL}")
        for name, item in value.items():
            member = members.get(name)
            if member is not None and item is not None:
                member(item, f"{prefix}{name}", problems)

    return check


def _list_checker(shape: ListShape, member: Check) -> Check:
    length = _length_rule(shape)

    def check(value: Any, path: str, problems: list[str]) -> None:
        if not isinstance(value, list):
            raise _wrong_type(path, "a list", value)
        length(value, path, problems)
        for i, item in enumerate(value, 1):
            if item is None:
                problems.append(
                    f"Value null at '{path}.{i}.member' failed to satisfy constraint: {_NOT_NULL}"
                )
            else:
                member(item, f"{path}.{i}.member", problems)

    return check


def _map_checker(shape: MapShape, key: Check, value_check: Check) -> Check:
    length = _length_rule(shape)

    def check(value: Any, path: str, problems: list[str]) -> None:
        if not isinstance(value, dict):
            raise _wrong_type(path, "an object", value)
        length(value, path, problems)
        for k, v in value.items():
            key(k, f"{path}.key", problems)
            if v is not None:
                value_check(v, f"{path}.{k}", problems)

    return check


def _string_checker(shape: Shape) -> Check:
    length = _length_rule(shape)
    enum = tuple(getattr(shape, "enum", None) or ())
    pattern = _pattern(shape.metadata.get("pattern"))
    sensitive = _sensitive(shape)
    enum_text = "Member must satisfy enum value set: [" + ", ".join(enum) + "]"

    def check(value: Any, path: str, problems: list[str]) -> None:
        if not isinstance(value, str):
            raise _wrong_type(path, "a string", value)
        length(value, path, problems)
        if enum and value not in enum:
            problems.append(_problem(value, path, enum_text, sensitive))
        if pattern is not None and pattern.fullmatch(value) is None:
            rule = f"Member must satisfy regular expression pattern: {shape.metadata['pattern']}"
            problems.append(_problem(value, path, rule, sensitive))

    return check


def _number_checker(shape: Shape, *, integral: bool) -> Check:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    wanted = "an integer" if integral else "a number"

    def check(value: Any, path: str, problems: list[str]) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (integral and isinstance(value, float))
        ):
            raise _wrong_type(path, wanted, value)
        if low is not None and value < low:
            problems.append(
                _problem(value, path, f"Member must have value greater than or equal to {low}", False)
            )
        if high is not None and value > high:
            problems.append(
                _problem(value, path, f"Member must have value less than or equal to {high}", False)
            )

    return check


def _length_rule(shape: Shape) -> Check:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    sensitive = _sensitive(shape)
    if low is None and high is None:
        return lambda value, path, problems: None

    def check(value: Any, path: str, problems: list[str]) -> None:
        size = len(value)
        if low is not None and size < low:
            rule = f"Member must have length greater than or equal to {low}"
            problems.append(_problem(value, path, rule, sensitive))
        if high is not None and size > high:
            rule = f"Member must have length less than or equal to {high}"
            problems.append(_problem(value, path, rule, sensitive))

    return check


def _typed(types: type | tuple[type, ...], wanted: str) -> Check:
    def check(value: Any, path: str, problems: list[str]) -> None:
        if not isinstance(value, types) or (bool not in _as_tuple(types) and isinstance(value, bool)):
            raise _wrong_type(path, wanted, value)

    return check


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


NEVER_ECHOED = frozenset({"Endpoint"})
"""Shapes whose values are never echoed though botocore does not mark them sensitive: Lambda's
self-managed broker endpoints, where a tenant may paste a URI with its password."""


def _sensitive(shape: Shape) -> bool:
    return bool(shape.metadata.get("sensitive")) or shape.name in NEVER_ECHOED


def _problem(value: Any, path: str, rule: str, sensitive: bool) -> str:
    """AWS's wording; sensitive members never echo their value."""
    shown = "Value" if sensitive else f"Value '{_shown(value)}'"
    return f"{shown} at '{path}' failed to satisfy constraint: {rule}"


def _shown(value: Any) -> str:
    text = str(value) if not isinstance(value, list | dict) else repr(value)
    return text if len(text) <= 256 else text[:256] + "..."


def _wrong_type(path: str, wanted: str, value: Any) -> AwsError:
    got = {
        bool: "a boolean",
        str: "a string",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }
    found = got.get(type(value), type(value).__name__)
    where = f"'{path}'" if path else "the request body"
    return AwsError("SerializationException", f"{where} must be {wanted}, not {found}")


def _pattern(pattern: str | None) -> re.Pattern[str] | None:
    """The model's pattern for Python; None when there is none (or it cannot be translated)."""
    if not pattern:
        return None
    java, python = _JAVA_ASCII
    translated = pattern.replace(f"[{java}", f"[{python}").replace(java, f"[{python}]")
    try:
        return re.compile(translated, re.DOTALL)
    except re.error:
        return None


# ---- output -----------------------------------------------------------------------------------------


@functools.cache
def shape_output(shape: StructureShape) -> Serialize:
    """A serializer of response dicts for ``shape`` (see the module docstring)."""
    return _structure_serializer(shape, {shape.name: None})[0]


def _serializer(shape: Shape, memo: dict[str, Serialize | None]) -> Serialize | None:
    """None means: the value goes out as it is."""
    if shape.name in memo:
        return memo[shape.name]
    if isinstance(shape, StructureShape):
        pending = _Pending()
        memo[shape.name] = pending
        serialize, converts = _structure_serializer(shape, memo)
        pending.target = serialize
        built: Serialize | None = serialize if converts else None
    elif isinstance(shape, ListShape):
        item = _serializer(shape.member, memo)
        built = None if item is None else (lambda value: [item(v) for v in value])
    elif isinstance(shape, MapShape):
        entry = _serializer(shape.value, memo)
        built = None if entry is None else (lambda value: {k: entry(v) for k, v in value.items()})
    elif shape.type_name == "timestamp":
        built = epoch_seconds
    elif shape.type_name == "blob":
        built = _base64
    else:
        built = None
    memo[shape.name] = built
    return built


def _structure_serializer(shape: StructureShape, memo: dict[str, Serialize | None]) -> tuple[Serialize, bool]:
    """The serializer, and whether anything below converts. Plain members are copied by one
    comprehension; only the members present that need work cost a call."""
    members = {name: _serializer(member, memo) for name, member in shape.members.items()}
    plain = frozenset(name for name, serialize in members.items() if serialize is None)
    special = {name: serialize for name, serialize in members.items() if serialize is not None}
    special_names = special.keys()
    if not special:
        return (lambda value: {k: v for k, v in value.items() if k in plain and v is not None}), False

    def serialize(value: dict[str, Any]) -> dict[str, Any]:
        out = {name: item for name, item in value.items() if name in plain and item is not None}
        for name in special_names & value.keys():
            item = value[name]
            if item is not None:
                out[name] = special[name](item)
        return out

    return serialize, True


def epoch_seconds(value: Any) -> float:
    """A timestamp as the JSON protocols send it: seconds since the epoch (milliseconds kept)."""
    if isinstance(value, str):
        return _epoch_of_text(value)
    if isinstance(value, datetime):
        return round(value.timestamp(), 3)
    return float(value)


@functools.lru_cache(maxsize=4096)
def _epoch_of_text(text: str) -> float:
    """ISO-8601 text as epoch seconds; cached, as the events of one history share few timestamps."""
    return round(datetime.fromisoformat(text).timestamp(), 3)


def _base64(value: Any) -> str:
    return base64.b64encode(value if isinstance(value, bytes) else str(value).encode()).decode()


def request_timestamp(value: Any, label: str = "") -> datetime | None:
    """A request's timestamp member (epoch seconds or ISO 8601; naive means UTC), None if absent; a
    ``ValidationException`` (its text starting with ``label``) if it is neither."""
    if value is None:
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        moment = datetime.fromisoformat(str(value))
    except (ValueError, OverflowError, OSError):
        raise AwsError("ValidationException", f"{label}{str(value)[:64]!r} is not a timestamp") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
