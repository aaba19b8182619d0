"""PostgreSQL wire protocol (v3) framing: a buffered message stream and message builders.

One asyncio ``Protocol`` serves both sides of the proxy (clients on the Unix socket, server
connections to PostgreSQL): data lands in a bytearray and whole messages are cut out of it, so a
burst of small messages costs one wake-up instead of two awaits per message.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Iterable, Mapping

_HEADER = struct.Struct("!cI")
_INT32 = struct.Struct("!I")
HIGH_WATER = 1 << 20
"""Stop reading a peer whose unread messages exceed this many bytes."""


class StreamClosed(ConnectionError):
    """The peer closed the connection (or it broke)."""


class Interrupted(Exception):
    """A read was interrupted on purpose (the other side of the relay went away)."""


class ProtocolViolation(ValueError):
    """The peer sent bytes that are not a PostgreSQL message."""


Message = tuple[bytes, bytes]
"""(type byte, payload without the length word)."""


class MessageStream(asyncio.Protocol):
    """One connection carrying PostgreSQL messages, with back-pressure in both directions."""

    def __init__(self, on_connect: Callable[[MessageStream], None] | None = None) -> None:
        self._on_connect = on_connect
        self._buffer = bytearray()
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._paused = False
        self._interrupted = False
        self.on_lost: Callable[[], None] | None = None
        """Called once when the peer goes away (used to stop waiting on the other side)."""

    # asyncio.Protocol callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self._on_connect is not None:
            self._on_connect(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > HIGH_WATER and self.transport is not None and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        self._lost()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def pause_writing(self) -> None:
        self._drain = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._drain = None

    def _lost(self) -> None:
        if not self.closed:
            self.closed = True
            if self.on_lost is not None:
                self.on_lost()
        self._wake()

    def interrupt(self) -> None:
        """Make the pending (or next) wait for data raise ``Interrupted``."""
        self._interrupted = True
        self._wake()

    def clear_interrupt(self) -> None:
        self._interrupted = False

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self) -> None:
        if self._interrupted:
            self._interrupted = False
            raise Interrupted
        if self.closed:
            raise StreamClosed("connection closed")
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        if self._interrupted:
            self._interrupted = False
            raise Interrupted

    # reading
    @property
    def has_buffered(self) -> bool:
        """Whether unread bytes are waiting (on an idle server connection: something went wrong)."""
        return bool(self._buffer)

    async def read_byte(self) -> bytes:
        """One raw byte (the server's answer to SSLRequest)."""
        while not self._buffer:
            await self._wait()
        first = bytes(self._buffer[:1])
        del self._buffer[:1]
        return first

    async def read_startup(self) -> bytes:
        """A message without a type byte (StartupMessage, SSLRequest, CancelRequest)."""
        while True:
            if len(self._buffer) >= 4:
                (length,) = _INT32.unpack_from(self._buffer, 0)
                if length < 8 or length > 10_000:
                    raise ProtocolViolation(f"startup message of {length} bytes")
                if len(self._buffer) >= length:
                    body = bytes(self._buffer[4:length])
                    del self._buffer[:length]
                    return body
            await self._wait()

    def _cut(self) -> Message | None:
        if len(self._buffer) < 5:
            return None
        kind, length = _HEADER.unpack_from(self._buffer, 0)
        if length < 4:
            raise ProtocolViolation(f"message {kind!r} with length {length}")
        end = 1 + length
        if len(self._buffer) < end:
            return None
        payload = bytes(self._buffer[5:end])
        del self._buffer[:end]
        return kind, payload

    async def read(self) -> Message:
        """The next message."""
        while True:
            message = self._cut()
            if message is not None:
                return message
            await self._wait()

    async def read_many(self) -> list[Message]:
        """Every whole message buffered now (at least one; waits for it)."""
        first = await self.read()
        messages = [first]
        while (message := self._cut()) is not None:
            messages.append(message)
        return messages

    # writing
    def write(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise StreamClosed("connection closed")
        self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the peer is not reading what was written."""
        if self._drain is not None:
            await self._drain
        if self.closed:
            raise StreamClosed("connection closed")

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        self._wake()


# builders ---------------------------------------------------------------------------------------


def message(kind: bytes, payload: bytes = b"") -> bytes:
    """Frame ``payload`` as a message of type ``kind``."""
    return _HEADER.pack(kind, len(payload) + 4) + payload


def cstr(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return data + b"\0"


def startup(params: Mapping[str, str]) -> bytes:
    body = _INT32.pack(196608) + b"".join(cstr(k) + cstr(v) for k, v in params.items()) + b"\0"
    return _INT32.pack(len(body) + 4) + body


def query(sql: str) -> bytes:
    return message(b"Q", cstr(sql))


def parse(name: bytes, sql: bytes, param_types: bytes = b"\0\0") -> bytes:
    """Parse; ``param_types`` is the raw int16 count + OIDs block, as clients send it."""
    return message(b"P", name + b"\0" + sql + b"\0" + param_types)


def bind_text(statement: bytes, values: Iterable[bytes | None]) -> bytes:
    """Bind all parameters in text format to the unnamed portal, results in text format."""
    items = list(values)
    parts = [b"\0", statement, b"\0", b"\0\0", struct.pack("!H", len(items))]
    for value in items:
        if value is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(_INT32.pack(len(value)) + value)
    parts.append(b"\0\0")
    return message(b"B", b"".join(parts))


def describe(kind: bytes, name: bytes) -> bytes:
    return message(b"D", kind + name + b"\0")


EXECUTE_UNNAMED = message(b"E", b"\0" + _INT32.pack(0))
SYNC = message(b"S")
FLUSH = message(b"H")
TERMINATE = message(b"X")
PARSE_COMPLETE = message(b"1")
CLOSE_COMPLETE = message(b"3")
AUTH_OK = message(b"R", _INT32.pack(0))


def ready_for_query(status: bytes) -> bytes:
    return message(b"Z", status)


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key(pid: int, secret: int) -> bytes:
    return message(b"K", struct.pack("!II", pid, secret))


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def error_response(code: str, text: str, severity: str = "ERROR") -> bytes:
    """An ErrorResponse as PostgreSQL sends it (severity, SQLSTATE, message)."""
    fields = b"S" + cstr(severity) + b"V" + cstr(severity) + b"C" + cstr(code) + b"M" + cstr(text)
    return message(b"E", fields + b"\0")


# parsers ----------------------------------------------------------------------------------------


def split_cstr(payload: bytes, start: int = 0) -> tuple[bytes, int]:
    """The NUL-terminated string at ``start`` and the offset after it."""
    end = payload.index(b"\0", start)
    return payload[start:end], end + 1


def startup_params(body: bytes) -> dict[str, str]:
    """The key/value pairs of a StartupMessage body (after the protocol word)."""
    params: dict[str, str] = {}
    offset = 4
    while offset < len(body) and body[offset] != 0:
        key, offset = split_cstr(body, offset)
        value, offset = split_cstr(body, offset)
        params[key.decode(errors="replace")] = value.decode(errors="replace")
    return params


def error_fields(payload: bytes) -> dict[str, str]:
    """ErrorResponse / NoticeResponse fields by their one-letter code (C=SQLSTATE, M=message, ...)."""
    fields: dict[str, str] = {}
    offset = 0
    while offset < len(payload) and payload[offset] != 0:
        code = chr(payload[offset])
        value, offset = split_cstr(payload, offset + 1)
        fields[code] = value.decode(errors="replace")
    return fields


def int32(payload: bytes, offset: int = 0) -> int:
    return int(_INT32.unpack_from(payload, offset)[0])
