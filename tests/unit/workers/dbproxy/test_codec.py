"""JSON values <-> PostgreSQL text format for the bundled clients."""

from __future__ import annotations

from typing import Any

import pytest

from workers.dbproxy import codec

INT4, INT8, TEXT, BOOL, FLOAT8, NUMERIC, JSONB = 23, 20, 25, 16, 701, 1700, 3802
INT4_ARRAY, TEXT_ARRAY, JSONB_ARRAY = 1007, 1009, 3807


@pytest.mark.parametrize(
    ("value", "oid", "text"),
    [
        (None, INT4, None),
        (42, INT4, b"42"),
        (True, BOOL, b"true"),
        (1.5, FLOAT8, b"1.5"),
        ("héllo", TEXT, "héllo".encode()),
        ({"a": [1, None]}, JSONB, b'{"a":[1,null]}'),
        ("plain", JSONB, b'"plain"'),
        ([1, 2, None], INT4_ARRAY, b'{"1","2",NULL}'),
        (["a,b", 'q"x', "back\\slash"], TEXT_ARRAY, b'{"a,b","q\\"x","back\\\\slash"}'),
        ([[1, 2], [3, 4]], INT4_ARRAY, b'{{"1","2"},{"3","4"}}'),
        ([{"k": 1}], JSONB_ARRAY, b'{"{\\"k\\":1}"}'),
        ({"k": 1}, TEXT, b'{"k":1}'),
    ],
    ids=repr,
)
def test_encode(value: Any, oid: int, text: bytes | None) -> None:
    assert codec.encode(value, oid) == text


def test_encode_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(codec.ParameterError, match="cannot send a bytes"):
        codec.encode(b"raw", TEXT)


@pytest.mark.parametrize(
    ("text", "oid", "value"),
    [
        (b"42", INT4, 42),
        (b"9007199254740993", INT8, 9007199254740993),
        (b"t", BOOL, True),
        (b"f", BOOL, False),
        (b"2.5", FLOAT8, 2.5),
        (b"NaN", FLOAT8, "NaN"),
        (b"12.50", NUMERIC, 12.5),
        (b"123456789012345678901234.5", NUMERIC, "123456789012345678901234.5"),
        (b"7", NUMERIC, 7),
        (b'{"a": [1, 2]}', JSONB, {"a": [1, 2]}),
        (b"{1,NULL,3}", INT4_ARRAY, [1, None, 3]),
        (b'{"a b","c\\"d",e}', TEXT_ARRAY, ["a b", 'c"d', "e"]),
        (b"{{1,2},{3,4}}", INT4_ARRAY, [[1, 2], [3, 4]]),
        (b"{}", INT4_ARRAY, []),
        (b"2026-01-02 03:04:05+00", 1184, "2026-01-02 03:04:05+00"),
        (b"\\x0102", 17, "\\x0102"),
    ],
    ids=repr,
)
def test_decode(text: bytes, oid: int, value: Any) -> None:
    assert codec.decode(text, oid) == value
