"""Stepline's database proxy client for functions (standard library only).

    import stepline_db
    db = stepline_db.connect("orders")          # or connect() when one proxy is attached
    rows = db.query("SELECT id, total FROM orders WHERE customer = $1", ["c-7"])
    with db.transaction():
        db.query("UPDATE stock SET n = n - $1 WHERE sku = $2", [1, "A-1"])

Statements, parameters ($1, $2, ...) and transactions are PostgreSQL's; rows come back as dicts of
JSON values. Errors raise ``DatabaseError`` with PostgreSQL's SQLSTATE in ``code``.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Connection", "DatabaseError", "Result", "connect"]


class DatabaseError(Exception):
    """PostgreSQL (or the proxy) refused: ``code`` is the SQLSTATE, ``message`` its text."""

    def __init__(self, code: str, message: str, **details: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


@dataclass
class Result:
    rows: list[dict[str, Any]]
    columns: list[str] = field(default_factory=list)
    row_count: int = 0
    command: str = ""


def socket_path(proxy: str | None = None) -> str:
    """The socket of ``proxy`` (from its STEPLINE_DB_<NAME>_SOCKET variable)."""
    if proxy is not None:
        key = "".join(c if c.isalnum() else "_" for c in proxy.upper())
        path = os.environ.get(f"STEPLINE_DB_{key}_SOCKET")
        if path is None:
            raise DatabaseError("08001", f"db proxy {proxy!r} is not attached to this function")
        return path
    found = sorted(v for k, v in os.environ.items() if k.startswith("STEPLINE_DB_") and k.endswith("_SOCKET"))
    if len(found) != 1:
        raise DatabaseError("08001", f"{len(found)} db proxies are attached: name the one to use")
    return found[0]


class Connection:
    """One connection to the proxy; statements outside a transaction may use any pooled connection."""

    def __init__(self, path: str, timeout: float | None = None) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(path)
        except OSError as exc:
            self._sock.close()
            raise DatabaseError("08001", f"cannot reach the db proxy at {path}: {exc}") from None
        self._file = self._sock.makefile("rb")

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(request).encode()
        self._sock.sendall(b"J" + struct.pack("!I", len(body) + 4) + body)
        header = self._file.read(5)
        if len(header) < 5:
            raise DatabaseError("08006", "the db proxy closed the connection")
        (length,) = struct.unpack("!I", header[1:])
        answer: dict[str, Any] = json.loads(self._file.read(length - 4))
        if not answer.get("ok"):
            error = dict(answer.get("error") or {})
            raise DatabaseError(str(error.pop("code", "XX000")), str(error.pop("message", "")), **error)
        return answer

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        answer = self._call({"op": "query", "sql": sql, "params": list(params)})
        return Result(answer["rows"], answer["columns"], answer["rowCount"], answer["command"])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run one statement; its rows (empty for statements without any)."""
        return self.execute(sql, params).rows

    def begin(self) -> None:
        self._call({"op": "begin"})

    def commit(self) -> None:
        self._call({"op": "commit"})

    def rollback(self) -> None:
        self._call({"op": "rollback"})

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Commit when the block ends, roll back if it raises."""
        self.begin()
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def close(self) -> None:
        self._file.close()
        self._sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(proxy: str | None = None, timeout: float | None = None) -> Connection:
    """A connection to the attached proxy ``proxy`` (optional when exactly one is attached)."""
    return Connection(socket_path(proxy), timeout)
