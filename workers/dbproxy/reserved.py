"""Clients cannot touch the proxy's slot locks: two-key advisory lock calls are refused on sight.

The proxy's slots (``slots``) are two-key session advisory locks whose first key is the
deployment's secret class. PostgreSQL keeps the one-key (bigint) and two-key forms apart (they
differ in ``pg_locks.objsubid``), so clients keep the one-key form, and the two-key form only with
two integer literals whose first is not the proxy's class. Anything else that names an advisory
lock function is refused before it reaches the database: a two-key call whose keys are parameters
or expressions, in any spelling (quoted, schema-qualified, Unicode escapes, comments before the
parenthesis), the name inside a function body or a string (``CREATE FUNCTION``, ``CREATE
OPERATOR``, ``'...'::regprocedure``), and the protocol's FunctionCall by OID.
``pg_advisory_unlock_all()`` stays allowed (asyncpg's pool resets with it): it frees only the
caller's own connection's slot, which the proxy takes again when the connection comes back (closing
the connection if another process won the slot meanwhile).

The arguments are found by a scanner that delimits strings, quoted names, dollar quotes and
(nested) comments as PostgreSQL's does; where PostgreSQL's reading depends on the session
(``standard_conforming_strings``, a multibyte client encoding whose characters may end in a
backslash), every reading must be allowed, and one the scanner cannot settle is refused.

Not covered, by nature: SQL assembled at run time (``EXECUTE`` in PL/pgSQL, ``query_to_xml`` over a
concatenated string) or functions created in the database by other means never show the name to
the proxy. Such SQL can only reach keys it has read in ``pg_locks``, that is slots held at that
moment; a free slot's key is never shown anywhere.
"""

from __future__ import annotations

import re

SQLSTATE = "42501"
"""insufficient_privilege"""

TWO_KEY_FUNCTION_OIDS = frozenset({2886, 2887, 2888, 2889, 2890, 2891, 3093, 3094, 3095, 3096})
"""pg_proc OIDs of the (int4, int4) forms (fixed since PostgreSQL 9.1), for FunctionCall messages."""

ADVISORY = re.compile(
    rb"(?<![A-Za-z0-9_$\x80-\xff])"  # a whole name: PostgreSQL counts non-ASCII bytes as letters
    rb"pg_(?:try_)?advisory_(?:xact_)?(?:un)?lock(?:_shared)?"
    rb"(?![A-Za-z0-9_$\x80-\xff])",
    re.IGNORECASE,
)
INTEGER = re.compile(rb"\s*([+-]?)\s*(\d+)\s*")
DOLLAR_TAG = re.compile(rb"\$(?:[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)?\$")
IDENT_START = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_" + bytes(range(0x80, 0x100)))
IDENT_CONT = IDENT_START | frozenset(b"0123456789$")
SPACE = frozenset(b" \t\n\r\f\v")
CONTINUATION = re.compile(rb"(?:[ \t\f]|--[^\n\r]*)*[\n\r](?:[ \t\n\r\f\v]+|--[^\n\r]*[\n\r])*'")
"""Between two quoted segments of one string constant (scan.l's quotecontinue): a newline is needed."""


class Ambiguous(ValueError):
    """The scanner cannot tell how PostgreSQL reads this text: refuse it."""


def refusal(sql: bytes, reserved_class: int) -> str | None:
    """Why ``sql`` (one client statement, or several) is refused; None if it may run."""
    for text in _spellings(sql):
        for match in ADVISORY.finditer(text):
            if all(_allowed(text, match.end(), escapes, reserved_class) for escapes in (False, True)):
                continue
            name = match.group().decode("ascii", "replace").lower()
            return (
                f"db proxy: {name} refused: the proxy keeps its connection slots in two-key advisory "
                "locks, so clients call advisory lock functions with one bigint key, or with two integer "
                "literals outside the proxy's class"
            )
    return None


def function_call_refusal(payload: bytes) -> str | None:
    """Why a FunctionCall message is refused (the two-key advisory functions by OID); None if not."""
    oid = int.from_bytes(payload[:4], "big")
    if oid in TWO_KEY_FUNCTION_OIDS:
        return f"db proxy: function {oid} refused: two-key advisory locks hold the proxy's connection slots"
    return None


def _spellings(sql: bytes) -> list[bytes]:
    """``sql`` as written and, if it may use Unicode escapes (``U&"..."``), with them decoded, with
    the default escape character and with any ``UESCAPE`` one."""
    if b"&" not in sql:
        return [sql]
    escapes = {b"\\", *re.findall(rb"UESCAPE\s*'(.)'", sql, re.IGNORECASE | re.DOTALL)}
    return [sql, *(_decode(sql, escape) for escape in escapes)]


def _decode(sql: bytes, escape: bytes) -> bytes:
    pattern = re.compile(re.escape(escape) + rb"(?:\+([0-9A-Fa-f]{6})|([0-9A-Fa-f]{4}))")

    def char(found: re.Match[bytes]) -> bytes:
        code = int(found.group(1) or found.group(2), 16)
        return chr(code).encode("utf-8", "replace") if code < 0x110000 else b"?"

    return pattern.sub(char, sql)


def _allowed(text: bytes, end: int, escapes: bool, reserved_class: int) -> bool:
    """Whether the name ending at ``end`` is called with one key, or two integer literals whose first
    is not the reserved class, when plain strings take backslash escapes (``escapes``) or not."""
    try:
        arguments = _arguments(text, end, escapes)
    except Ambiguous:
        return False
    if arguments is None or len(arguments) > 2:
        return False
    if len(arguments) == 1:
        return True
    first, second = (INTEGER.fullmatch(argument) for argument in arguments)
    if first is None or second is None:
        return False
    value = int(first.group(1) + first.group(2))
    return value != reserved_class


def _arguments(text: bytes, end: int, escapes: bool) -> list[bytes] | None:
    """The top-level arguments of the call whose name ends at ``end``; None if the name is not
    called there (referenced by ``CREATE OPERATOR``, a cast, a string) or the call never closes."""
    start = _skip_space(text, end + (text[end : end + 1] == b'"'))  # the closing quote of "name"
    if text[start : start + 1] != b"(":
        return None
    arguments: list[bytes] = []
    depth, index, begin = 0, start + 1, start + 1
    while index < len(text):
        char = text[index]
        if char == 0x28:  # (
            depth += 1
        elif char == 0x29:  # )
            if depth == 0:
                return [*arguments, text[begin:index]]
            depth -= 1
        elif char == 0x2C and depth == 0:  # ,
            arguments.append(text[begin:index])
            begin = index + 1
        elif char in b"'\"$-/":
            index = _skip_token(text, index, escapes)
            continue
        index += 1
    return None


def _skip_space(text: bytes, index: int) -> int:
    """The index after whitespace and comments starting at ``index``."""
    while index < len(text):
        if text[index] in SPACE:
            index += 1
        elif text[index : index + 2] in (b"--", b"/*"):
            index = _skip_token(text, index, False)
        else:
            break
    return index


def _skip_token(text: bytes, index: int, escapes: bool) -> int:
    """The index after the literal, quoted name, dollar quote or comment at ``index``, or
    ``index + 1`` if none starts there; raises ``Ambiguous`` if it never ends."""
    char = text[index : index + 1]
    if char == b"'":
        return _skip_string(text, index, escapes or _run_before(text, index) in (b"e", b"E"))
    if char == b'"':
        return _skip_until(text, index + 1, b'"', doubled=True)
    if char == b"$":
        run = _run_before(text, index)
        tag = None if run[:1] and run[0] in IDENT_START else DOLLAR_TAG.match(text, index)
        if tag is None:  # inside a name (a$b$), a parameter ($1), or a lone $
            return index + 1
        return _skip_until(text, tag.end(), tag.group(), doubled=False)
    if text[index : index + 2] == b"--":
        ends = [found for found in (text.find(b"\n", index), text.find(b"\r", index)) if found >= 0]
        return min(ends) + 1 if ends else len(text)
    if text[index : index + 2] == b"/*":
        return _skip_comment(text, index)
    return index + 1


def _skip_string(text: bytes, index: int, escapes: bool) -> int:
    cursor = index + 1
    while cursor < len(text):
        current = text[cursor]
        if escapes and current == 0x5C:  # backslash
            if text[cursor - 1] >= 0x80:  # may be the last byte of a multibyte character instead
                raise Ambiguous("a backslash after a non-ASCII byte in an escaped string")
            cursor += 2
            continue
        if current == 0x27:  # '
            if text[cursor + 1 : cursor + 2] == b"'":
                cursor += 2
                continue
            continued = CONTINUATION.match(text, cursor + 1)
            if continued is None:
                return cursor + 1
            cursor = continued.end()  # the next segment, read as this one is (E'...' escapes too)
            continue
        cursor += 1
    raise Ambiguous("an unterminated string")


def _skip_until(text: bytes, start: int, closing: bytes, doubled: bool) -> int:
    cursor = start
    while True:
        found = text.find(closing, cursor)
        if found < 0:
            raise Ambiguous(f"no closing {closing!r}")
        after = found + len(closing)
        if doubled and text[after : after + len(closing)] == closing:
            cursor = after + len(closing)
            continue
        return after


def _skip_comment(text: bytes, index: int) -> int:
    """Past a ``/* ... */`` comment, which PostgreSQL lets nest."""
    depth, cursor = 0, index
    while cursor < len(text):
        pair = text[cursor : cursor + 2]
        if pair == b"/*":
            depth += 1
            cursor += 2
        elif pair == b"*/":
            depth -= 1
            cursor += 2
            if depth == 0:
                return cursor
        else:
            cursor += 1
    raise Ambiguous("an unterminated comment")


def _run_before(text: bytes, index: int) -> bytes:
    """The identifier characters right before ``index`` (what a quote or ``$`` there belongs to)."""
    start = index
    while start > 0 and text[start - 1] in IDENT_CONT:
        start -= 1
    return text[start:index]
