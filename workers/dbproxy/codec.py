"""JSON values <-> PostgreSQL text format, for the bundled clients' protocol.

Parameters are sent as text with the types the server inferred (a list bound to an ``int[]``
parameter becomes an array literal, to a ``jsonb`` one a JSON document); results come back as JSON
numbers, booleans, nested JSON, arrays, or strings for everything else (timestamps in ISO format).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation
from typing import Any

BOOL = 16
INTEGERS = frozenset({20, 21, 23, 26, 28})
FLOATS = frozenset({700, 701})
NUMERIC = 1700
JSON_TYPES = frozenset({114, 3802})
ARRAY_ELEMENT = {
    1000: BOOL,
    1005: 21,
    1007: 23,
    1016: 20,
    1021: 700,
    1022: 701,
    1231: NUMERIC,
    1009: 25,
    1015: 1043,
    1014: 1042,
    199: 114,
    3807: 3802,
    2951: 2950,
    1115: 1114,
    1185: 1184,
    1182: 1082,
}
"""Array type OID -> element type OID, for the arrays decoded into JSON arrays."""


class ParameterError(ValueError):
    """A parameter that cannot be sent as the type the statement expects."""


def encode(value: Any, oid: int) -> bytes | None:
    """One parameter in text format (None for SQL NULL)."""
    if value is None:
        return None
    if oid in JSON_TYPES:
        return json.dumps(value, separators=(",", ":")).encode()
    if oid in ARRAY_ELEMENT and isinstance(value, list):
        return _array_literal(value, ARRAY_ELEMENT[oid]).encode()
    return _scalar(value).encode()


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    raise ParameterError(f"cannot send a {type(value).__name__} as a parameter")


def _array_literal(values: list[Any], element: int) -> str:
    items: list[str] = []
    for value in values:
        if value is None:
            items.append("NULL")
        elif isinstance(value, list):
            items.append(_array_literal(value, element))
        else:
            text = json.dumps(value, separators=(",", ":")) if element in JSON_TYPES else _scalar(value)
            items.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(items) + "}"


def decode(text: bytes, oid: int) -> Any:
    """One result value in text format -> a JSON value."""
    if oid in INTEGERS:
        return int(text)
    if oid == BOOL:
        return text == b"t"
    if oid in FLOATS:
        number = float(text)
        return number if math.isfinite(number) else text.decode()
    if oid == NUMERIC:
        return _numeric(text.decode())
    if oid in JSON_TYPES:
        return json.loads(text)
    if oid in ARRAY_ELEMENT:
        parsed, _ = _parse_array(text.decode(), 0, ARRAY_ELEMENT[oid])
        return parsed
    return text.decode()


def _numeric(text: str) -> Any:
    """A number when it survives the trip through JSON exactly, else its exact text."""
    if "." not in text and "e" not in text.lower():
        try:
            return int(text)
        except ValueError:
            return text  # NaN, Infinity
    try:
        number = float(text)
        if math.isfinite(number) and Decimal(repr(number)) == Decimal(text):
            return number
    except (ValueError, InvalidOperation):
        pass
    return text


def _parse_array(text: str, start: int, element: int) -> tuple[list[Any], int]:
    """Parse ``{...}`` at ``start``; return the values and the offset after the closing brace."""
    if text[start] == "[":  # explicit bounds, e.g. [0:1]={1,2}
        start = text.index("=", start) + 1
    assert text[start] == "{", f"array literal expected at {start}"
    values: list[Any] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "}":
            return values, i + 1
        if char in ", ":
            i += 1
        elif char == "{":
            nested, i = _parse_array(text, i, element)
            values.append(nested)
        elif char == '"':
            out: list[str] = []
            i += 1
            while text[i] != '"':
                if text[i] == "\\":
                    i += 1
                out.append(text[i])
                i += 1
            i += 1
            values.append(decode("".join(out).encode(), element))
        else:
            end = i
            while text[end] not in ",}":
                end += 1
            raw = text[i:end]
            values.append(None if raw == "NULL" else decode(raw.encode(), element))
            i = end
    raise ValueError(f"unterminated array literal: {text!r}")
