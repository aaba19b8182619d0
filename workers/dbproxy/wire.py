"""Way 2: ordinary PostgreSQL drivers on the proxy's Unix socket, with transaction pooling.

A client connection is virtual. It borrows a server connection for its next message and keeps it
while the server reports a transaction (ReadyForQuery ``T`` or ``E``) or while responses are still
owed; at ``I`` with nothing owed the connection goes back to the pool. The relay tracks what each
forwarded message will be answered with (``Expect``), which lets it drop the responses to
statements it re-prepares and make up the ones for messages it answers itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from workers.dbproxy import pgwire, reserved, statements
from workers.dbproxy.pool import Pool
from workers.dbproxy.server import ServerConnection, ServerError, cancel

log = logging.getLogger(__name__)

SSL_REQUEST = 80877103
GSS_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 196608


HARMLESS_STARTUP = frozenset({"user", "database", "application_name", "extra_float_digits", "replication"})


def startup_refusal(params: dict[str, str]) -> str | None:
    """Why a client's start-up settings cannot be honoured under transaction pooling (None: fine).

    Server connections are shared, so settings such as ``options=-c search_path=...`` or ``TimeZone``
    cannot follow one client; ignoring them silently could write to the wrong schema, so they are
    refused with a clear message instead."""
    for name, raw in params.items():
        value = raw.strip().strip("'\"")  # asyncpg quotes its values: client_encoding='utf-8'
        if name in HARMLESS_STARTUP:
            if name == "replication" and value.lower() not in ("false", "off", "no", "0"):
                return "replication connections are not supported by the db proxy"
            continue
        if name == "client_encoding" and value.upper().replace("-", "") in ("UTF8", "UNICODE"):
            continue
        if name == "DateStyle" and value.upper().startswith("ISO"):
            continue
        return (
            f"start-up setting {name}={raw!r} is not supported by the db proxy (connections are shared); "
            "use SET LOCAL inside a transaction"
        )
    return None


@dataclass(slots=True)
class Expect:
    """The response owed for one forwarded (or locally answered) message."""

    terminals: bytes
    """Server message types that complete this entry."""
    sync: bool = False
    """A Sync, Query or FunctionCall: completed by ReadyForQuery; errors skip to it."""
    query: bool = False
    """Simple Query / FunctionCall: an error inside does not end the entry."""
    swallow: bool = False
    """Injected by the proxy: its response is not for the client."""
    synth: bytes | None = None
    """Answered by the proxy itself with these bytes, in order."""
    prepared: bytes | None = None
    """Server statement a Parse creates: forgotten if the Parse never completes."""


class WireSession:
    """One client connection speaking the PostgreSQL protocol."""

    def __init__(self, client: pgwire.MessageStream, pool: Pool, key: tuple[int, int]) -> None:
        self.client = client
        self.pool = pool
        self.key = key
        self.server: ServerConnection | None = None
        self.pending: deque[Expect] = deque()
        self.statements: dict[bytes, statements.Statement] = {}
        self.skipping = False
        """After an error in the extended protocol: drop messages until Sync."""
        self.unsynced = False
        """Extended-protocol messages were sent since the last Sync: the batch is still open."""
        self._out: list[bytes] = []
        self._to_server: list[bytes] = []
        """Messages for the server, written once per client batch (one send instead of several)."""
        self._copy_ends_sent = 0
        """CopyDone/CopyFail forwarded before the server asked for the data (clients pipeline COPY)."""

    # lifecycle ----------------------------------------------------------------------------------

    async def serve(self, first: bytes, parameters: dict[str, str]) -> None:
        """Greet the client (``first`` is its StartupMessage body), then relay until it leaves."""
        client_params = pgwire.startup_params(first)
        self.client.write(pgwire.AUTH_OK)
        for name, value in parameters.items():
            self.client.write(pgwire.parameter_status(name, value))
        if "application_name" in client_params:
            self.client.write(pgwire.parameter_status("application_name", client_params["application_name"]))
        self.client.write(pgwire.backend_key(*self.key) + pgwire.ready_for_query(b"I"))
        try:
            await self._relay()
        except (pgwire.StreamClosed, pgwire.ProtocolViolation, ConnectionError):
            pass
        finally:
            await self._abandon()
            self.client.close()

    async def _relay(self) -> None:
        while True:
            batch = await self.client.read_many()
            flush_at: Expect | None = None
            flush_any = False
            for kind, payload in batch:
                if kind == b"X":
                    await self._drain_to(flush_at, flush_any)
                    return
                entry = await self._handle(kind, payload)
                if kind in b"SQHF":
                    flush_any = True
                    flush_at = entry if entry is not None else (self.pending[-1] if self.pending else None)
            await self._drain_to(flush_at, flush_any)

    async def _drain_to(self, last: Expect | None, wanted: bool) -> None:
        """Relay server responses until every entry up to ``last`` is answered, then maybe release."""
        self._push()
        try:
            if wanted and last is not None:
                await self._drain(last)
        finally:
            self._flush_out()
        server = self.server
        if (
            server is not None
            and not (self.pending or self.unsynced or self.skipping)
            and server.status == b"I"
        ):
            self.server = None
            await self.pool.release(server)

    # client -> server ---------------------------------------------------------------------------

    async def _handle(self, kind: bytes, payload: bytes) -> Expect | None:
        """Forward one client message (rewritten as needed); return the entry it owes, if any."""
        if self.skipping:
            if kind != b"S":
                return None
            self.skipping = False
            if self.server is None:
                self._out.append(pgwire.ready_for_query(b"I"))
                return None
        if kind == b"C" and payload[:1] == b"S":
            self.statements.pop(payload[1:-1], None)
            return self._answer(pgwire.CLOSE_COMPLETE)
        if kind in b"SH" and self.server is None and not self.pending:
            if kind == b"S":
                self._out.append(pgwire.ready_for_query(b"I"))
            return None
        if kind == b"Q":
            target = statements.deallocate_target(payload[:-1])
            if target is not None:
                return self._deallocate(target)
        if kind in b"QPF" and (refusal := self._refusal(kind, payload)) is not None:
            return self._refuse(kind, refusal)
        server = await self._borrow(kind)
        if server is None:
            return None
        entry: Expect | None
        if kind == b"P":
            name, statement = statements.from_parse(payload)
            if statement is None:
                server.dirty |= statements.changes_session(payload[1 : payload.index(b"\0", 1)])
                return self._send(server, kind, payload, Expect(b"1"))
            self.statements[name] = statement
            server.dirty |= statement.changes_session
            if statement.server_name in server.prepared:
                return self._answer(pgwire.PARSE_COMPLETE)
            server.prepared[statement.server_name] = None
            return self._send(
                server, b"P", statement.parse_body, Expect(b"1", prepared=statement.server_name)
            )
        if kind == b"B":
            name = statements.bind_statement(payload)
            known = self.statements.get(name) if name else None
            if known is not None:
                self._ensure_prepared(server, known)
                payload = statements.rename_bind(payload, known.server_name)
            return self._send(server, kind, payload, Expect(b"2"))
        if kind == b"D":
            if payload[:1] == b"S" and (known := self.statements.get(payload[1:-1])) is not None:
                self._ensure_prepared(server, known)
                payload = b"S" + known.server_name + b"\0"
            return self._send(server, kind, payload, Expect(b"Tn"))
        if kind == b"E":
            self.pool.count_query()
            entry = Expect(b"CIs")
        elif kind == b"C":
            entry = Expect(b"3")
        elif kind == b"S":
            entry = Expect(b"Z", sync=True)
        elif kind in b"QF":
            self.pool.count_query()
            if kind == b"Q":
                server.dirty |= statements.changes_session(payload)
            entry = Expect(b"Z", sync=True, query=True)
        else:  # Flush, copy data sent ahead of CopyInResponse: no response of their own
            entry = None
            if kind in b"cf":
                self._copy_ends_sent += 1
        return self._send(server, kind, payload, entry)

    def _send(
        self, server: ServerConnection, kind: bytes, payload: bytes, entry: Expect | None
    ) -> Expect | None:
        self._to_server.append(pgwire.message(kind, payload))
        if kind in b"PBDEC":
            self.unsynced = True
        elif kind in b"SQF":
            self.unsynced = False
        if entry is not None:
            self.pending.append(entry)
        return entry

    def _answer(self, response: bytes) -> Expect | None:
        """Answer a message locally, in order with the responses still owed."""
        if not self.pending:
            self._out.append(response)
            return None
        entry = Expect(b"", synth=response)
        self.pending.append(entry)
        return entry

    def _ensure_prepared(self, server: ServerConnection, statement: statements.Statement) -> None:
        server.dirty |= statement.changes_session
        if statement.server_name not in server.prepared:
            server.prepared[statement.server_name] = None
            self._send(
                server, b"P", statement.parse_body, Expect(b"1", swallow=True, prepared=statement.server_name)
            )

    def _refusal(self, kind: bytes, payload: bytes) -> str | None:
        """Why a statement is refused before it reaches the database (``reserved``), if it is."""
        if kind == b"F":
            return reserved.function_call_refusal(payload)
        if kind == b"P":
            start = payload.index(b"\0") + 1
            sql = payload[start : payload.index(b"\0", start)]
        else:
            sql = payload[:-1]
        return reserved.refusal(sql, self.pool.keys.classid)

    def _refuse(self, kind: bytes, message: str) -> Expect | None:
        """Answer as the server answers an error: a Parse's skips the rest up to Sync, a Query's or a
        FunctionCall's ends with ReadyForQuery (the transaction is left as it was)."""
        error = pgwire.error_response(reserved.SQLSTATE, message)
        if kind == b"P":
            entry = self._answer(error)
            self.skipping = True
            return entry
        status = self.server.status if self.server is not None else b"I"
        return self._answer(error + pgwire.ready_for_query(status))

    def _deallocate(self, target: bytes) -> Expect | None:
        if target == b"ALL":
            self.statements.clear()
        else:
            self.statements.pop(target, None)
        status = self.server.status if self.server is not None else b"I"
        tag = b"DEALLOCATE ALL" if target == b"ALL" else b"DEALLOCATE"
        return self._answer(pgwire.message(b"C", tag + b"\0") + pgwire.ready_for_query(status))

    async def _borrow(self, kind: bytes) -> ServerConnection | None:
        if self.server is not None:
            return self.server
        try:
            self.server = await self.pool.acquire()
        except ServerError as exc:
            # Answer as the server would: an error, then ReadyForQuery at the next Sync.
            self._out.append(pgwire.error_response(exc.code, str(exc)))
            if kind in b"QFS":
                self._out.append(pgwire.ready_for_query(b"I"))
            else:
                self.skipping = True
            return None
        return self.server

    # server -> client ---------------------------------------------------------------------------

    async def _drain(self, last: Expect) -> None:
        server = self.server
        self._emit_synthesized()
        while self.pending and any(entry is last for entry in self.pending):
            if server is None:
                raise RuntimeError("responses owed without a server connection")
            if self.client.closed:
                raise pgwire.StreamClosed("the client left mid-request")
            self.client.on_lost = server.stream.interrupt
            try:
                batch = await server.stream.read_many()
            except pgwire.StreamClosed:
                self._server_lost(server)
                return
            except pgwire.Interrupted:
                raise pgwire.StreamClosed("the client left mid-request") from None
            finally:
                self.client.on_lost = None
                server.stream.clear_interrupt()
            for kind, payload in batch:
                if kind == b"G":  # CopyInResponse: the client streams rows (unless it already did)
                    self._out.append(pgwire.message(kind, payload))
                    self._flush_out()
                    if self._copy_ends_sent:
                        self._copy_ends_sent -= 1
                    else:
                        await self._copy_in(server)
                    continue
                self._on_server(server, kind, payload)
            self._flush_out()

    def _on_server(self, server: ServerConnection, kind: bytes, payload: bytes) -> None:
        if kind == b"A" and self.pool.signal(server, payload):
            return  # another process asks for a slot: not the client's business
        if kind in b"NAS" or not self.pending:
            self._out.append(pgwire.message(kind, payload))
            return
        head = self.pending[0]
        if kind == b"E":
            self._out.append(pgwire.message(kind, payload))
            if head.query:
                return
            while self.pending and not self.pending[0].sync:
                dropped = self.pending.popleft()
                if dropped.prepared is not None:
                    server.prepared.pop(dropped.prepared, None)
            if not self.pending:
                self.skipping = True
            return
        if kind == b"Z":
            server.status = payload[:1]
            self.pending.popleft()
        elif kind in head.terminals:
            self.pending.popleft()
            if head.swallow:
                self._emit_synthesized()
                return
        self._out.append(pgwire.message(kind, payload))
        self._emit_synthesized()

    def _emit_synthesized(self) -> None:
        while self.pending and self.pending[0].synth is not None:
            synth = self.pending.popleft().synth
            assert synth is not None
            self._out.append(synth)

    async def _copy_in(self, server: ServerConnection) -> None:
        while True:
            kind, payload = await self.client.read()
            server.stream.write(pgwire.message(kind, payload))
            if kind in b"cf":
                return

    def _server_lost(self, server: ServerConnection) -> None:
        """The database went away mid-request: tell the client, keep it if no transaction was lost."""
        in_transaction = server.status != b"I"
        self.pool.discard(server)
        self.server = None
        owed_sync = any(entry.sync for entry in self.pending)
        self.pending.clear()
        severity = "FATAL" if in_transaction else "ERROR"
        self._out.append(
            pgwire.error_response("08006", "db proxy: connection to the database was lost", severity)
        )
        if in_transaction:
            self._flush_out()
            raise pgwire.StreamClosed("transaction lost with its server connection")
        if owed_sync:
            self._out.append(pgwire.ready_for_query(b"I"))
        else:
            self.skipping = True

    def _push(self) -> None:
        if self._to_server and self.server is not None:
            data = b"".join(self._to_server)
            self._to_server.clear()
            self.server.stream.write(data)

    def _flush_out(self) -> None:
        if self._out:
            data = b"".join(self._out)
            self._out.clear()
            with contextlib.suppress(pgwire.StreamClosed):
                self.client.write(data)

    # cleanup ------------------------------------------------------------------------------------

    async def cancel_running(self) -> None:
        """Forward a client's CancelRequest to the server connection it holds."""
        server = self.server
        if server is not None and self.pending:
            with contextlib.suppress(OSError):
                await cancel(self.pool.config.target, server.pid, server.secret)

    async def _abandon(self) -> None:
        """The client left: roll back what it held and return the connection clean (or close it)."""
        server = self.server
        if server is None:
            return
        with contextlib.suppress(pgwire.StreamClosed):
            self._push()
        self.server = None
        if not server.alive and not self.pending:
            self.pool.discard(server)
            return
        try:
            async with asyncio.timeout(self.pool.config.connect_timeout):
                owed = sum(1 for entry in self.pending if entry.sync)
                if self.pending:
                    await cancel(self.pool.config.target, server.pid, server.secret)
                    server.stream.write(pgwire.SYNC)
                    owed += 1
                if server.status != b"I" or self.pending:
                    server.stream.write(pgwire.query("ROLLBACK"))
                    owed += 1
                while owed:
                    kind, payload = await server.stream.read()
                    if kind == b"Z":
                        owed -= 1
                        server.status = payload[:1]
            self.pending.clear()
            await self.pool.release(server)
        except (TimeoutError, OSError, pgwire.StreamClosed):
            log.warning(
                "db proxy %s: could not clean up an abandoned connection; closing it", self.pool.config.name
            )
            self.pool.discard(server)


SessionFactory = Callable[[pgwire.MessageStream], WireSession]
