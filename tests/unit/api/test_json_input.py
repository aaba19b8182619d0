"""api.json_input: what JSON may enter the API (depth, NUL, lone surrogates), and that every route
checks its body."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from api.json_input import (
    MAX_JSON_DEPTH,
    JsonRoute,
    check_body,
    check_json_text,
    check_payload,
    depth_exceeds,
)
from foundation.errors import InvalidRequest


def refusal(check: object, *args: object) -> str | None:
    try:
        check(*args)  # type: ignore[operator]
    except InvalidRequest as exc:
        return exc.detail
    return None


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"a": "\\u0000"}', "NUL"),
        (b'{"a": "\\\\u0000"}', None),  # an escaped backslash, then the text u0000
        (b'{"a": "\\\\\\u0000"}', "NUL"),
        (b'{"a": "\\ud800"}', "lone surrogate"),
        (b'{"a": "\\ude00"}', "lone surrogate"),
        (b'{"a": "x\\ud83dx"}', "lone surrogate"),
        (b'{"a": "\\ud83d\\\\ude00"}', "lone surrogate"),
        (b'{"a": "\\ud83d\\ude00", "b": "\\uD83D\\uDE00"}', None),  # a pair is one character
        (b'{"a": "\xed\xa0\x80"}', "lone surrogate"),  # U+D800 as UTF-8 bytes
        ('{"a": "\ud55c"}'.encode(), None),  # Hangul also starts with 0xED
        (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, None),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), f"more than {MAX_JSON_DEPTH} levels"),
        (b"[" * 100_000 + b"]" * 100_000, f"more than {MAX_JSON_DEPTH} levels"),  # past Python's recursion
        (b'["' + b"[" * 1000 + b'"]', None),  # brackets in a string
        (b'{"a": [' * 200, None),  # not JSON: FastAPI says so
    ],
    ids=[
        "nul", "escaped-backslash", "nul-after-escaped-backslash", "lone-high", "lone-low",
        "high-then-text", "high-then-escaped-backslash", "pairs", "utf8-surrogate", "hangul",
        "at-limit", "over-limit", "far-over-limit", "brackets-in-string", "not-json",
    ],
)  # fmt: skip
def test_check_body(body: bytes, says: str | None) -> None:
    detail = refusal(check_body, body)
    assert (detail is None) if says is None else (detail is not None and says in detail), detail


def test_json_text_in_a_field_is_checked_and_named_by_its_location() -> None:
    assert refusal(check_json_text, '{"a": "\\u0000"}', "/inputText") == (
        "/inputText holds a NUL character (\\u0000) in a string, which no name or value may contain"
    )
    assert "lone surrogate" in str(refusal(check_json_text, '"\ud800"', "/definition"))
    assert refusal(check_json_text, "[" * 200, "/inputText") is None  # not JSON: its parser says so
    assert "levels deep" in str(refusal(check_json_text, "[" * 200 + "]" * 200, "/inputText"))
    assert refusal(check_json_text, '{"é": "\\ud83d\\ude00"}', "/inputText") is None


def test_invocation_payloads_may_carry_escapes_but_not_nul_bytes() -> None:
    assert refusal(check_payload, b'{"a": "\\u0000"}') is None
    assert "NUL byte" in str(refusal(check_payload, b'{"a": "\x00"}'))
    assert "levels deep" in str(refusal(check_payload, b"[" * 129 + b"]" * 129))
    assert refusal(check_payload, b"not json [[[[" * 100) is None


@pytest.mark.parametrize(
    ("value", "limit", "exceeds"),
    [(1, 0, False), ([], 0, True), ([], 1, False), ([[1]], 1, True), ({"a": [{"b": 1}]}, 3, False),
     ({"a": [{"b": {}}]}, 3, True), ([[], [[[]]]], 4, False), ([[], [[[]]]], 3, True)],
)  # fmt: skip
def test_depth_exceeds(value: object, limit: int, exceeds: bool) -> None:
    assert depth_exceeds(value, limit) is exceeds


def test_every_route_with_a_body_checks_it() -> None:
    from api.app import create_app

    app = create_app()
    routes = [
        r for top in app.routes for r in getattr(getattr(top, "original_router", None), "routes", [top])
    ]
    v1 = [r for r in routes if isinstance(r, APIRoute) and r.path.startswith("/v1/")]
    assert len(v1) > 30
    assert [r.path for r in v1 if not isinstance(r, JsonRoute)] == []
