"""Which client statements may call advisory lock functions (``workers.dbproxy.reserved``).

Each refused case is a way to reach the two-key form that PostgreSQL would run; each allowed case
is one that PostgreSQL reads with one key, or with two literals outside the proxy's class. The
tricky ones make a scanner that reads strings or comments differently from PostgreSQL see one
argument where PostgreSQL sees two.
"""

from __future__ import annotations

import pytest

from workers.dbproxy import reserved

CLASS = -123456

REFUSED = [
    "SELECT pg_try_advisory_lock($1, $2)",
    "SELECT pg_try_advisory_lock(-123456, 0)",
    "SELECT pg_try_advisory_lock( - 123456 , 7)",
    "SELECT pg_advisory_unlock(-123456, 1)",
    "SELECT pg_try_advisory_lock(k, 1) FROM t",
    "SELECT pg_try_advisory_lock((1), 2)",
    "SELECT pg_try_advisory_lock(1 + 0, 2)",
    "SELECT pg_try_advisory_lock(0x1F, 2)",
    "SELECT pg_catalog.pg_try_advisory_lock($1, $2)",
    'SELECT pg_catalog."pg_try_advisory_lock"($1, $2)',
    "SELECT PG_TRY_ADVISORY_LOCK /* a /* nested */ comment */ ($1, $2)",
    "SELECT pg_try_advisory_lock -- a comment\n ($1, $2)",
    'SELECT U&"pg\\005ftry\\005fadvisory\\005flock"($1, $2)',
    "SELECT U&\"pg!005ftry!005fadvisory!005flock\" UESCAPE '!' ($1, $2)",
    "SELECT pg_try_advisory_xact_lock($1, $2)",
    "SELECT pg_advisory_lock_shared($1, $2)",
    "SELECT pg_try_advisory_xact_lock_shared($1, $2)",
    "SELECT pg_try_advisory_lock(1, 2, 3)",
    "SELECT pg_try_advisory_lock(ARRAY[1,2][1])",  # brackets are not tracked: refused, not misread
    "CREATE FUNCTION f(int, int) RETURNS bool LANGUAGE sql AS 'SELECT pg_try_advisory_lock($1, $2)'",
    "CREATE FUNCTION f(a int, b int) RETURNS bool AS $$ BEGIN RETURN pg_try_advisory_lock(a, b); END $$",
    "CREATE OPERATOR ### (LEFTARG = int, RIGHTARG = int, FUNCTION = pg_try_advisory_lock)",
    "SELECT 'pg_try_advisory_lock(int, int)'::regprocedure",
    "SELECT pg_try_advisory_lock(length($1), 2",  # never closes
    # A scanner treating name'...' as an E'...' string would see one argument here:
    "SELECT pg_try_advisory_lock(length(name'\\') + $1, $2) /*' ) */",
    # ... one ignoring standard_conforming_strings = off would see one here:
    "SELECT pg_try_advisory_lock(length('\\')) --') + $1, $2)",
    # ... one not knowing continued E'...' strings keep escaping:
    "SELECT pg_try_advisory_lock(length(E''\n'\\')) --') + $1, $2)",
    # ... one reading non-ASCII dollar-quote tags as text:
    "SELECT pg_try_advisory_lock(length($é$)$é$) + $1, $2)",
    # ... one taking $a$ in an identifier for a dollar quote:
    "SELECT pg_try_advisory_lock(x$a$ + $1, $2) FROM t -- $a$ )",
    # ... one not nesting comments:
    "SELECT pg_try_advisory_lock(/* /* */ ) */ $1, $2)",
]

ALLOWED = [
    "SELECT 1",
    "SELECT pg_try_advisory_lock(42)",
    "SELECT pg_try_advisory_lock($1)",
    "SELECT pg_advisory_unlock(hashtext('job:' || $1))",
    "SELECT pg_try_advisory_lock(7, 8)",
    "SELECT pg_advisory_xact_lock(-1, 2)",
    "SELECT pg_advisory_unlock_all()",
    "SELECT pg_try_advisory_lock(f(1, 2))",
    "SELECT pg_try_advisory_lock('a, b'::regclass::oid::bigint)",
    'SELECT pg_try_advisory_lock("my col") FROM t',
    "SELECT pg_try_advisory_lock($x$ , $x$::text::bigint)",
    "SELECT pg_try_advisory_lock(1 /* , 2 */)",
    "SELECT my_pg_try_advisory_lock(1, 2)",
    "SELECT pg_try_advisory_lock_x(1, 2)",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_refused(sql: str) -> None:
    message = reserved.refusal(sql.encode(), CLASS)
    assert message is not None and "advisory" in message and "slots" in message


@pytest.mark.parametrize("sql", ALLOWED)
def test_allowed(sql: str) -> None:
    assert reserved.refusal(sql.encode(), CLASS) is None


def test_a_backslash_ending_a_multibyte_character_is_refused_when_it_matters() -> None:
    """In SJIS, 0x95 0x5C is one character: PostgreSQL (after converting the query) sees no backslash."""
    sql = b"SELECT pg_try_advisory_lock(length(E'\x95\\') + $1, $2) /*' ) */"
    assert reserved.refusal(sql, CLASS) is not None


def test_function_call_by_oid() -> None:
    assert reserved.function_call_refusal((2888).to_bytes(4, "big") + b"\0\0") is not None
    assert reserved.function_call_refusal((2882).to_bytes(4, "big") + b"\0\0") is None  # the bigint form
