"""JSON as it enters the API: nested at most ``MAX_JSON_DEPTH`` levels, with no NUL (U+0000) and no
lone surrogate in any string.

Checked once where JSON comes in: every JSON request body (``JsonRoute`` reads it before FastAPI
parses it), JSON text carried inside one (``inputText``, a definition given as text), and function
invocation payloads. Beyond these limits a value could be stored but not read back: PostgreSQL refuses
text holding U+0000, UTF-8 cannot encode a lone surrogate (Python's JSON parser takes both), and
orjson and pydantic-core (which serialise every response) stop at 255 levels.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from foundation.errors import InvalidRequest

SERIALISABLE_DEPTH = 254
"""The deepest value a response can carry: pydantic-core serialises 254 levels below a model, orjson
255 in all."""
MAX_JSON_DEPTH = 128
"""About half of ``SERIALISABLE_DEPTH``: a value that passes can still be wrapped by the workflow
(Parameters, ResultPath, Map items, history events) and served."""

_HIGH, _LOW = r"[dD][89abAB][0-9a-fA-F]{2}", r"[dD][c-fC-F][0-9a-fA-F]{2}"
_UNSTORABLE_ESCAPE = rf"(?<!\\)(?:\\\\)*(?:\\u(0000)|\\u{_HIGH}(?!\\u{_LOW})|(?<!\\u{_HIGH})\\u{_LOW})"
"""A JSON escape (not an escaped backslash followed by ``u``) of U+0000 (group 1) or of a lone surrogate."""
_UNSTORABLE_IN_BYTES = re.compile(_UNSTORABLE_ESCAPE.encode() + rb"|\xed[\xa0-\xbf]")
"""... or a surrogate encoded as UTF-8 bytes, which Python's JSON parser decodes without complaint."""
_UNSTORABLE_IN_TEXT = re.compile(_UNSTORABLE_ESCAPE + "|[\ud800-\udfff]")


def check_body(body: bytes) -> None:
    """Refuse a JSON request body nested too deeply, or with a NUL or a lone surrogate in a string
    (400 naming which)."""
    if b"\\u0000" in body or b"\\ud" in body or b"\\uD" in body or b"\xed" in body:
        _refuse_unstorable("the body", _UNSTORABLE_IN_BYTES.search(body))
    if _may_exceed(body.count(b"["), body.count(b"{")) and _too_deep(body):
        _refuse_depth("the body")


def check_json_text(text: str, location: str) -> None:
    """The same checks for JSON text carried in a string field (``location`` is its JSON pointer).
    Text that is not JSON passes: the field's own parser reports that."""
    if not text.isascii() or "\\u0000" in text or "\\ud" in text or "\\uD" in text:
        _refuse_unstorable(location, _UNSTORABLE_IN_TEXT.search(text))
    if _may_exceed(text.count("["), text.count("{")) and _too_deep(text):
        _refuse_depth(location)


def check_payload(payload: bytes) -> None:
    """An invocation payload: nested at most ``MAX_JSON_DEPTH`` levels, and no NUL byte (which no
    JSON text holds, and which a queued invocation could not store). ``\\u0000`` escapes pass: the
    payload is stored, if at all, as the JSON text it is."""
    if b"\x00" in payload:
        raise InvalidRequest(
            "the payload holds a NUL byte: it is not JSON text",
            [{"location": "/", "code": "InvalidRequestContentException", "message": "a NUL byte"}],
        )
    if _may_exceed(payload.count(b"["), payload.count(b"{")) and _too_deep(payload):
        _refuse_depth("the payload")


def _may_exceed(brackets: int, braces: int) -> bool:
    """Whether the depth can pass the limit: never with fewer opening brackets than levels (the
    common case, decided without parsing)."""
    return brackets + braces > MAX_JSON_DEPTH


def _too_deep(text: bytes | str) -> bool:
    try:
        value = json.loads(text)
    except RecursionError:
        return True
    except ValueError:
        return False  # not JSON: whoever parses it next says so
    return depth_exceeds(value, MAX_JSON_DEPTH)


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` arrays/objects (``[]`` is 1, ``[[1]]`` is 2):
    level by level, without recursion, stopping at the first level past the limit."""
    level = [value] if type(value) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list[Any] = []
        for container in level:
            items = container.values() if type(container) is dict else container
            below.extend([item for item in items if type(item) in (dict, list)])
        level = below
    return False


def _refuse_unstorable(where: str, found: re.Match[bytes] | re.Match[str] | None) -> None:
    if found is None:
        return
    if found.group(1):
        detail = f"{where} holds a NUL character (\\u0000) in a string, which no name or value may contain"
    else:
        detail = (
            f"{where} holds a lone surrogate (U+D800 to U+DFFF without its pair) in a string: it is not "
            "valid Unicode (surrogates not allowed in UTF-8 text)"
        )
    raise InvalidRequest(detail, [{"location": _pointer(where), "message": detail}])


def _refuse_depth(where: str) -> None:
    detail = f"{where} nests JSON arrays and objects more than {MAX_JSON_DEPTH} levels deep (the limit)"
    raise InvalidRequest(detail, [{"location": _pointer(where), "message": detail}])


def _pointer(where: str) -> str:
    return where if where.startswith("/") else "/"


class JsonRoute(APIRoute):
    """A route whose JSON body is checked (``check_body``) before FastAPI parses it. Every router
    of the API uses it (``tests/unit/api/test_json_input.py`` checks that none is missed)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if self.body_field is None:
            return handle

        async def checked(request: Request) -> Response:
            body = await request.body()  # kept on the request: FastAPI parses the same bytes
            if body:
                check_body(body)
            return await handle(request)

        return checked
