"""Opaque ``nextToken`` values: URL-safe base64 of a small JSON document, tied to one listing."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from foundation.errors import InvalidRequest


def encode_token(kind: str, position: dict[str, Any]) -> str:
    """A token for the page after ``position`` in listing ``kind``."""
    raw = json.dumps({"k": kind, **position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(kind: str, token: str) -> dict[str, Any]:
    """The position in a token made by ``encode_token(kind, ...)``; InvalidRequest otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest(
            "nextToken is not a token this API issued", [{"location": "query:/nextToken"}]
        ) from exc
    if not isinstance(value, dict) or value.pop("k", None) != kind:
        raise InvalidRequest("nextToken belongs to another listing", [{"location": "query:/nextToken"}])
    return value
