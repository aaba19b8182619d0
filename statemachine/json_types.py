"""JSON type names, as AWS's messages spell them (validation diagnostics and run-time errors)."""

from __future__ import annotations

from typing import Any


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
