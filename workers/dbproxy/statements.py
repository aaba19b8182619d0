"""Naming and bookkeeping of prepared statements under transaction pooling.

A client's named statement (asyncpg's ``__asyncpg_stmt_1__``, psycopg's ``_pg3_0``) must work on
whichever server connection the client is given next. The proxy names every statement on the
server after a hash of its text and parameter types, records each client's names, and re-prepares
a statement on a connection that lacks it just before it is bound or described.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

SESSION_STATE = re.compile(
    rb"(?:^|;)\s*(?:SET|RESET|LISTEN|PREPARE|DISCARD|LOAD|DECLARE)\b"
    rb"|\bTEMP(?:ORARY)?\b|\bset_config\b|\bpg_(?:try_)?advisory_lock|\bpg_advisory_unlock|\bWITH\s+HOLD\b",
    re.IGNORECASE,
)
"""Statements that may change session state, which must not leak to the next client.

Over-approximating costs one ``DISCARD ALL`` when the connection goes back to the pool."""

DEALLOCATE = re.compile(rb'^\s*DEALLOCATE\s+(?:PREPARE\s+)?(?:"([^"]+)"|(\w+))\s*;?\s*$', re.IGNORECASE)


def changes_session(sql: bytes) -> bool:
    """Whether running ``sql`` may leave session state behind (conservative)."""
    return SESSION_STATE.search(sql) is not None


def deallocate_target(sql: bytes) -> bytes | None:
    """For ``DEALLOCATE name`` / ``DEALLOCATE ALL``: the name (``ALL`` upper-cased); else None."""
    match = DEALLOCATE.match(sql)
    if match is None:
        return None
    if match.group(1) is not None:
        return match.group(1)
    name = match.group(2)
    return b"ALL" if name.upper() == b"ALL" else name


@dataclass(frozen=True, slots=True)
class Statement:
    """A client's prepared statement as the server knows it."""

    server_name: bytes
    parse_body: bytes
    """The Parse payload with the server-side name, ready to (re-)send."""
    changes_session: bool


def from_parse(payload: bytes) -> tuple[bytes, Statement | None]:
    """A client's Parse payload -> (client statement name, the statement; None for unnamed)."""
    end = payload.index(b"\0")
    name = payload[:end]
    rest = payload[end + 1 :]
    if not name:
        return name, None
    digest = hashlib.blake2b(rest, digest_size=10).hexdigest().encode()
    server_name = b"sl_" + digest
    sql = rest[: rest.index(b"\0")]
    return name, Statement(server_name, server_name + b"\0" + rest, changes_session(sql))


def rename_bind(payload: bytes, server_name: bytes) -> bytes:
    """A Bind payload with its statement name replaced."""
    portal_end = payload.index(b"\0")
    statement_end = payload.index(b"\0", portal_end + 1)
    return payload[: portal_end + 1] + server_name + payload[statement_end:]


def bind_statement(payload: bytes) -> bytes:
    """The statement name a Bind payload refers to."""
    portal_end = payload.index(b"\0")
    return payload[portal_end + 1 : payload.index(b"\0", portal_end + 1)]
