"""What a database error raised by a request means to its client, read once for both front doors.

Values no validation caught (PostgreSQL or asyncpg refused them) are the request's fault; unique and
foreign-key violations are two requests racing. Anything else is a server fault.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import DBAPIError, IntegrityError


def unstorable_value(exc: DBAPIError) -> str | None:
    """The words of asyncpg when it refused a parameter (out of range, a lone surrogate in text), or
    of PostgreSQL when it refused a value (a data exception, SQLSTATE class 22: too long for its
    column, NUL in text): a value from the request that no validation caught, so the request's
    fault, not the server's."""
    cause = exc.orig.__cause__ if exc.orig is not None else None
    if cause is not None and type(cause).__name__ == "DataError" and "query argument" in str(cause):
        return str(cause).split(": ", 1)[-1]
    if str(getattr(cause, "sqlstate", None) or "").startswith("22"):
        return str(cause)
    return None


_KINDS = {
    "state_machine": "state machine",
    "state_machine_version": "state machine version",
    "function": "function",
    "function_version": "function version",
    "db_proxy": "db proxy",
    "file_system": "file system",
    "access_point": "access point",
}
"""Tables whose rows requests create, by the name the API gives them."""


def race_conflict(exc: IntegrityError) -> str | None:
    """What a unique violation (23505) or a foreign key violation (23503) means to the client: two
    requests raced (created one name twice, or created under something deleted meanwhile)."""
    cause = exc.orig.__cause__ if exc.orig is not None else None
    sqlstate = getattr(cause, "sqlstate", None)
    table = str(getattr(cause, "table_name", None) or "")
    kind = _KINDS.get(table, table.replace("_", " ") or "the resource")
    if sqlstate == "23505":
        key = re.search(r"\)=\((.*)\) already exists", str(getattr(cause, "detail", None) or ""))
        return f"{kind} {key.group(1)!r} already exists" if key else f"that {kind} already exists"
    if sqlstate == "23503":
        return f"the {kind} refers to something that no longer exists (removed by a concurrent request)"
    return None
