"""Way 1: the bundled clients' protocol, JSON requests in PostgreSQL-style frames.

Each frame is ``J`` + int32 length + UTF-8 JSON. Requests:
``{"op": "query", "sql": ..., "params": [...]}``, ``{"op": "begin" | "commit" | "rollback"}``.
Answers: ``{"ok": true, "rows": [{column: value}], "columns": [...], "rowCount": n, "command": tag}``
or ``{"ok": false, "error": {"code": SQLSTATE, "message": ..., ...}}``.

Statements run through the extended protocol on the pooled connection; each connection caches the
statements it has prepared (named by a hash of their text) with their parameter and column types,
so a repeated query costs one round trip. A transaction pins the connection exactly as in way 2.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from workers.dbproxy import codec, pgwire, reserved, statements
from workers.dbproxy.pool import Pool
from workers.dbproxy.server import ServerConnection, ServerError, cancel

FRAME = b"J"
MAX_CACHED = 256
"""Statements cached per server connection; beyond this, queries use the unnamed statement."""


class QueryFailed(Exception):
    """PostgreSQL answered with an error; ``fields`` are its ErrorResponse fields."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields.get("M", ""))
        self.fields = fields


@dataclass(frozen=True, slots=True)
class Described:
    """What the server told about a prepared statement."""

    params: tuple[int, ...]
    columns: tuple[tuple[str, int], ...]


def error_body(code: str, message: str, **extra: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, **extra}}


def _error_from_fields(fields: dict[str, str]) -> dict[str, Any]:
    names = {"D": "detail", "H": "hint", "P": "position", "n": "constraint", "t": "table", "c": "column"}
    extra = {name: fields[code] for code, name in names.items() if code in fields}
    return error_body(fields.get("C", "XX000"), fields.get("M", ""), **extra)


class NativeSession:
    """One bundled-client connection."""

    def __init__(self, stream: pgwire.MessageStream, pool: Pool) -> None:
        self.stream = stream
        self.pool = pool
        self.server: ServerConnection | None = None
        self.owed = 0
        """ReadyForQuery messages still owed by the server (a request is in flight)."""

    async def serve(self) -> None:
        try:
            while True:
                kind, payload = await self.stream.read()
                if kind != FRAME:
                    raise pgwire.ProtocolViolation(f"unexpected frame {kind!r}")
                answer = await self._answer(payload)
                self.stream.write(pgwire.message(FRAME, json.dumps(answer, separators=(",", ":")).encode()))
        except (pgwire.StreamClosed, pgwire.ProtocolViolation):
            pass
        finally:
            await self._abandon()
            self.stream.close()

    async def _answer(self, payload: bytes) -> dict[str, Any]:
        try:
            request = json.loads(payload)
        except ValueError as exc:
            return error_body("08P01", f"request is not JSON: {exc}")
        if not isinstance(request, dict):
            return error_body("08P01", "request must be a JSON object")
        op = request.get("op")
        try:
            if op == "query":
                sql, params = request.get("sql"), request.get("params", [])
                if not isinstance(sql, str) or not isinstance(params, list):
                    return error_body("08P01", "query needs 'sql' (string) and 'params' (array)")
                refusal = reserved.refusal(sql.encode(), self.pool.keys.classid)
                if refusal is not None:
                    return error_body(reserved.SQLSTATE, refusal)
                return await self._query(sql, params)
            if op in ("begin", "commit", "rollback"):
                return await self._simple(str(op).upper())
            return error_body("08P01", f"unknown op {op!r}: expected query, begin, commit or rollback")
        except QueryFailed as exc:
            return _error_from_fields(exc.fields)
        except ServerError as exc:
            return error_body(exc.code, str(exc))
        except codec.ParameterError as exc:
            return error_body("22023", str(exc))
        finally:
            await self._maybe_release()

    async def _borrow(self) -> ServerConnection:
        if self.server is None:
            self.server = await self.pool.acquire()
        return self.server

    async def _maybe_release(self) -> None:
        server = self.server
        if server is not None and not self.owed and (server.status == b"I" or not server.alive):
            self.server = None
            await self.pool.release(server)

    async def _simple(self, sql: str) -> dict[str, Any]:
        server = await self._borrow()
        self.pool.count_query()
        self._request(server, pgwire.query(sql))
        tag = ""
        failure: dict[str, str] | None = None
        async for kind, payload in self._responses(server):
            if kind == b"C":
                tag = payload[:-1].decode()
            elif kind == b"E":
                failure = pgwire.error_fields(payload)
        if failure is not None:
            raise QueryFailed(failure)
        return {"ok": True, "command": tag}

    async def _query(self, sql: str, params: list[Any]) -> dict[str, Any]:
        server = await self._borrow()
        self.pool.count_query()
        encoded_sql = sql.encode()
        server.dirty |= statements.changes_session(encoded_sql)
        name = b"sn_" + hashlib.blake2b(encoded_sql, digest_size=10).hexdigest().encode()
        described = server.prepared.get(name)
        if not isinstance(described, Described):
            if len(server.prepared) >= MAX_CACHED:
                name = b""
            described = await self._prepare(server, name, encoded_sql)
        if len(params) != len(described.params):
            raise codec.ParameterError(
                f"the statement takes {len(described.params)} parameters, not {len(params)}"
            )
        values = [codec.encode(value, oid) for value, oid in zip(params, described.params, strict=True)]
        self._request(server, pgwire.bind_text(name, values) + pgwire.EXECUTE_UNNAMED + pgwire.SYNC)
        rows: list[dict[str, Any]] = []
        columns = described.columns
        tag = ""
        failure: dict[str, str] | None = None
        async for kind, payload in self._responses(server):
            if kind == b"D":
                rows.append(_row(payload, columns))
            elif kind == b"C":
                tag = payload[:-1].decode()
            elif kind == b"E":
                failure = pgwire.error_fields(payload)
        if failure is not None:
            raise QueryFailed(failure)
        count = int(tag.rsplit(" ", 1)[-1]) if tag and tag.rsplit(" ", 1)[-1].isdigit() else len(rows)
        return {
            "ok": True,
            "rows": rows,
            "columns": [c for c, _ in columns],
            "rowCount": count,
            "command": tag,
        }

    async def _prepare(self, server: ServerConnection, name: bytes, sql: bytes) -> Described:
        self._request(server, pgwire.parse(name, sql) + pgwire.describe(b"S", name) + pgwire.SYNC)
        params: tuple[int, ...] = ()
        columns: tuple[tuple[str, int], ...] = ()
        failure: dict[str, str] | None = None
        async for kind, payload in self._responses(server):
            if kind == b"t":
                count = int.from_bytes(payload[:2], "big")
                params = tuple(pgwire.int32(payload, 2 + 4 * i) for i in range(count))
            elif kind == b"T":
                columns = _columns(payload)
            elif kind == b"E":
                failure = pgwire.error_fields(payload)
        if failure is not None:
            raise QueryFailed(failure)
        described = Described(params, columns)
        if name:
            server.prepared[name] = described
        return described

    def _request(self, server: ServerConnection, messages: bytes) -> None:
        """Send messages that end in one Sync (or a simple Query)."""
        server.stream.write(messages)
        self.owed += 1

    async def _responses(self, server: ServerConnection) -> Any:
        """Server messages up to ReadyForQuery (which sets the status); the client leaving interrupts."""
        while True:
            if self.stream.closed:
                raise pgwire.StreamClosed("the client left mid-request")
            self.stream.on_lost = server.stream.interrupt
            try:
                kind, payload = await server.stream.read()
            except pgwire.Interrupted:
                raise pgwire.StreamClosed("the client left mid-request") from None
            except pgwire.StreamClosed:
                self.owed = 0
                self.server = None
                in_transaction = server.status != b"I"
                self.pool.discard(server)
                lost = "db proxy: connection to the database was lost"
                raise ServerError(
                    "08006", lost + (" (the transaction is gone)" if in_transaction else "")
                ) from None
            finally:
                self.stream.on_lost = None
                server.stream.clear_interrupt()
            if kind == b"Z":
                server.status = payload[:1]
                self.owed -= 1
                return
            if kind == b"A" and self.pool.signal(server, payload):
                continue
            yield kind, payload

    async def _abandon(self) -> None:
        """The client left: cancel what runs, roll back what it held, return the connection clean."""
        server = self.server
        if server is None:
            return
        self.server = None
        try:
            async with asyncio.timeout(self.pool.config.connect_timeout):
                if self.owed:
                    await cancel(self.pool.config.target, server.pid, server.secret)
                if server.status != b"I" or self.owed:
                    server.stream.write(pgwire.query("ROLLBACK"))
                    self.owed += 1
                while self.owed:
                    kind, payload = await server.stream.read()
                    if kind == b"Z":
                        server.status = payload[:1]
                        self.owed -= 1
            await self.pool.release(server)
        except (TimeoutError, OSError, pgwire.StreamClosed):
            self.pool.discard(server)


def _columns(payload: bytes) -> tuple[tuple[str, int], ...]:
    count = int.from_bytes(payload[:2], "big")
    offset = 2
    columns: list[tuple[str, int]] = []
    for _ in range(count):
        name, offset = pgwire.split_cstr(payload, offset)
        oid = pgwire.int32(payload, offset + 6)
        offset += 18
        columns.append((name.decode(), oid))
    return tuple(columns)


def _row(payload: bytes, columns: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    offset = 2
    for name, oid in columns:
        length = int.from_bytes(payload[offset : offset + 4], "big", signed=True)
        offset += 4
        if length < 0:
            row[name] = None
        else:
            row[name] = codec.decode(payload[offset : offset + length], oid)
            offset += length
    return row
