"""JSON values: their type (``JSON``, the one alias every layer uses) and their type names, as AWS's
messages spell them (validation diagnostics and run-time errors)."""

from __future__ import annotations

from typing import Any, TypeAlias

JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None
"""A decoded JSON value. Recursive, so mypy checks what code does with one: narrow it (``isinstance``)
before indexing it. Values the ``jsonata`` and ``jsonpath_ng`` libraries hand back are ``Any`` until
they cross into a function typed with this."""


def type_name(value: Any) -> str:
    """``null``, ``boolean``, ``number``, ``string``, ``array`` or ``object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
