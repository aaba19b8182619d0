"""JSON text as Step Functions reads it: its parse errors spelled like the Jackson parser AWS uses.

AWS reports malformed definitions and execution inputs with Jackson's messages (``Unrecognized token
'not': was expecting ...``); clients and the conformance corpus compare those texts, so the parse
errors of Python's ``json`` are translated here, and nowhere else.
"""

from __future__ import annotations

import json
import math
from typing import Any

_VALUE_EXPECTED = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
_SOURCE_LIMIT = 500


class JsonTextError(ValueError):
    """Text that is not JSON, with Jackson's message and 1-based line/column."""

    def __init__(self, message: str, text: str, line: int, column: int) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.source = _source(text, line, column)
        super().__init__(f"{message}\n at {self.source}")


def _source(text: str, line: int, column: int) -> str:
    shown = text if len(text) <= _SOURCE_LIMIT else text[:_SOURCE_LIMIT]
    more = f"[truncated {len(text) - _SOURCE_LIMIT} chars]" if len(text) > _SOURCE_LIMIT else ""
    return f'[Source: (String)"{shown}"{more}; line: {line}, column: {column}]'


class _Refused(Exception):
    """A number ``json`` would take but JSON cannot carry (NaN, Infinity, an overflowing float)."""

    def __init__(self, token: str, message: str) -> None:
        self.token = token
        self.message = message


def _no_constant(token: str) -> Any:
    raise _Refused(
        token, f"Non-standard token '{token}': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow"
    )


def _finite(token: str) -> float:
    value = float(token)
    if math.isinf(value):
        raise _Refused(token, f"Numeric value ({token}) out of range of double")
    return value


def parse_json_text(text: str) -> Any:
    """Decode JSON text; raise :class:`JsonTextError` worded as AWS words it.

    Python's ``json`` also takes ``NaN``, ``Infinity`` and floats beyond a double's range, which
    JSON cannot carry back out: those are refused here too.
    """
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise JsonTextError("JSON nested too deeply", text, 1, 1) from None
    except json.JSONDecodeError as exc:
        raise _translate(exc, text) from None
    except _Refused as refused:
        line, column = _position(text, max(text.find(refused.token), 0))
        raise JsonTextError(refused.message, text, line, column) from None


def _position(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _char(c: str) -> str:
    return f"Unexpected character ('{c}' (code {ord(c)}))"


def _translate(exc: json.JSONDecodeError, text: str) -> JsonTextError:
    pos = exc.pos
    c = text[pos] if pos < len(text) else ""
    if not c:
        message = "Unexpected end-of-input"
        if text.strip():
            opener = text.lstrip()[0]
            marker = {"{": "Object", "[": "Array"}.get(opener)
            if marker:
                message = f"Unexpected end-of-input: expected close marker for {marker}"
        else:
            message = "No content to map due to end-of-input"
        line, column = _position(text, pos)
        return JsonTextError(message, text, line, column)
    line, column = _position(text, pos)
    if exc.msg == "Expecting value":
        if c.isalnum() or c in "_$":
            end = pos
            while end < len(text) and (text[end].isalnum() or text[end] in "_$"):
                end += 1
            return JsonTextError(
                f"Unrecognized token '{text[pos:end]}': was expecting {_VALUE_EXPECTED}",
                text,
                line,
                column + end - pos,
            )
        return JsonTextError(f"{_char(c)}: expected a valid value {_VALUE_EXPECTED}", text, line, column)
    wanted = {
        "Expecting property name enclosed in double quotes": "was expecting double-quote to start field name",
        "Expecting ':' delimiter": "was expecting a colon to separate field name and value",
        "Expecting ',' delimiter": "was expecting comma to separate entries",
        "Extra data": "expected end-of-input",
    }.get(exc.msg)
    if wanted:
        return JsonTextError(f"{_char(c)}: {wanted}", text, line, column)
    if exc.msg.startswith("Unterminated string"):
        return JsonTextError("Unexpected end-of-input in VALUE_STRING", text, *_position(text, len(text)))
    if exc.msg.startswith("Invalid control character"):
        return JsonTextError(
            f"Illegal unquoted character ((CTRL-CHAR, code {ord(c)})): "
            "has to be escaped using backslash to be included in string value",
            text,
            line,
            column,
        )
    return JsonTextError(f"{_char(c)}: {exc.msg}", text, line, column)
