"""Raw connections to the target PostgreSQL, authenticated by the proxy itself.

The proxy relays wire messages, so its server connections are plain sockets that it logs into
(trust, password, MD5 or SCRAM-SHA-256) rather than a driver's connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from workers.dbproxy import pgwire
from workers.dbproxy.auth import ScramClient, md5_password

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


class TargetError(ValueError):
    """A target URL that is not a PostgreSQL URL."""


class ServerError(ConnectionError):
    """The target database refused or could not be reached; ``code`` is a SQLSTATE."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Target:
    """Where the proxy connects. Never logged whole: ``describe()`` leaves the password out."""

    host: str
    port: int
    user: str
    password: str | None = field(repr=False)
    database: str
    sslmode: str = "prefer"
    """As libpq spells it: disable, allow/prefer (TLS if offered), require, verify-ca, verify-full."""
    sslrootcert: str | None = None
    """CA bundle for verify-ca/verify-full (default: the system's)."""

    @classmethod
    def from_url(cls, url: str) -> Target:
        parts = urlsplit(url)
        scheme = parts.scheme.split("+", 1)[0]
        if scheme not in ("postgresql", "postgres"):
            raise TargetError(f"target URL must start with postgresql://, not {parts.scheme}://")
        query = parse_qs(parts.query)
        host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
        try:
            port = int(query.get("port", [parts.port or 5432])[0])
        except ValueError as exc:
            raise TargetError(f"target URL has a bad port: {exc}") from None
        user = unquote(parts.username or "postgres")
        password = unquote(parts.password) if parts.password is not None else None
        database = unquote(parts.path.lstrip("/")) or user
        sslmode = query.get("sslmode", ["prefer"])[0]
        if sslmode not in SSL_MODES:
            raise TargetError(f"target URL has sslmode={sslmode}; expected one of {', '.join(SSL_MODES)}")
        rootcert = query.get("sslrootcert", [None])[0]
        return cls(host, port, user, password, database, sslmode, rootcert)

    @property
    def tls_required(self) -> bool:
        return self.sslmode in ("require", "verify-ca", "verify-full")

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS settings ``sslmode`` asks for."""
        context = ssl.create_default_context(cafile=self.sslrootcert)
        context.check_hostname = self.sslmode == "verify-full"
        if self.sslmode not in ("verify-ca", "verify-full"):
            context.verify_mode = ssl.CERT_NONE
        return context

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.database}"


@dataclass(eq=False, slots=True)
class ServerConnection:
    """One logged-in connection; ``prepared`` names the statements that exist on it."""

    stream: pgwire.MessageStream
    pid: int = 0
    secret: int = 0
    parameters: dict[str, str] = field(default_factory=dict)
    prepared: dict[bytes, object] = field(default_factory=dict)
    """Server-side statement name -> what the owner cached about it (parameter/column types)."""
    status: bytes = b"I"
    """Transaction status from the last ReadyForQuery: I idle, T in transaction, E failed."""
    dirty: bool = False
    """Something may have changed session state: reset before the next borrower."""
    idle_since: float = field(default_factory=time.monotonic)
    counted: bool = True
    """Still counted among the pool's open connections."""
    slot: int = -1
    """The cluster-wide slot (``slots``) this connection holds."""
    yield_requested: bool = False
    """Another process wants a slot: close this connection rather than reuse it."""
    generation: int = 0
    """The pool settings it was opened under; older ones are closed when they come back."""

    @property
    def alive(self) -> bool:
        return not self.stream.closed and not self.stream.has_buffered

    def close(self) -> None:
        if not self.stream.closed:
            with contextlib.suppress(pgwire.StreamClosed):
                self.stream.write(pgwire.TERMINATE)
            self.stream.close()


async def connect(target: Target, application_name: str, seconds: float) -> ServerConnection:
    """Open and log in a connection, or raise ``ServerError`` with a clear reason."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(seconds):
            if target.host.startswith("/"):
                path = f"{target.host}/.s.PGSQL.{target.port}"
                _, stream = await loop.create_unix_connection(pgwire.MessageStream, path)
            else:
                _, stream = await loop.create_connection(pgwire.MessageStream, target.host, target.port)
                if target.sslmode != "disable":
                    await _start_tls(stream, target)
            conn = ServerConnection(stream)
            await _login(conn, target, application_name)
            return conn
    except TimeoutError:
        raise ServerError(
            "08001", f"database {target.describe()} did not answer within {seconds} s"
        ) from None
    except ssl.SSLError as exc:
        raise ServerError("08001", f"TLS with database {target.describe()} failed: {exc}") from None
    except (OSError, pgwire.StreamClosed) as exc:
        if isinstance(exc, ServerError):
            raise
        raise ServerError("08001", f"cannot reach database {target.describe()}: {exc}") from None


async def _start_tls(stream: pgwire.MessageStream, target: Target) -> None:
    """Ask for TLS (SSLRequest) and wrap the connection if the server agrees."""
    stream.write(SSL_REQUEST)
    if await stream.read_byte() != b"S":
        if target.tls_required:
            stream.close()
            raise ServerError(
                "08001", f"database {target.describe()} does not accept TLS (sslmode={target.sslmode})"
            )
        return
    assert stream.transport is not None
    hostname = target.host if target.sslmode == "verify-full" else None
    loop = asyncio.get_running_loop()
    stream.transport = await loop.start_tls(
        stream.transport, stream, target.ssl_context(), server_hostname=hostname
    )


async def _login(conn: ServerConnection, target: Target, application_name: str) -> None:
    stream = conn.stream
    stream.write(
        pgwire.startup(
            {
                "user": target.user,
                "database": target.database,
                "application_name": application_name,
                "client_encoding": "UTF8",
                "DateStyle": "ISO, MDY",
            }
        )
    )
    scram: ScramClient | None = None
    while True:
        kind, payload = await stream.read()
        if kind == b"E":
            fields = pgwire.error_fields(payload)
            stream.close()
            raise ServerError(
                fields.get("C", "08006"), f"database {target.describe()}: {fields.get('M', '')}"
            )
        if kind == b"R":
            code = pgwire.int32(payload)
            if code == 0:
                continue
            if target.password is None:
                stream.close()
                raise ServerError(
                    "28P01", f"database {target.describe()} asks for a password; the URL has none"
                )
            if code == 3:
                stream.write(pgwire.message(b"p", pgwire.cstr(target.password)))
            elif code == 5:
                stream.write(pgwire.message(b"p", md5_password(target.user, target.password, payload[4:8])))
            elif code == 10:
                if b"SCRAM-SHA-256\0" not in payload[4:]:
                    raise ServerError("28000", "database offers no SASL mechanism the proxy supports")
                scram = ScramClient(target.password)
                first = scram.first()
                body = pgwire.cstr("SCRAM-SHA-256") + len(first).to_bytes(4, "big") + first
                stream.write(pgwire.message(b"p", body))
            elif code == 11 and scram is not None:
                stream.write(pgwire.message(b"p", scram.final(payload[4:])))
            elif code == 12 and scram is not None:
                scram.verify(payload[4:])
            else:
                stream.close()
                raise ServerError("28000", f"database asks for an unsupported authentication (code {code})")
        elif kind == b"S":
            name, offset = pgwire.split_cstr(payload)
            value, _ = pgwire.split_cstr(payload, offset)
            conn.parameters[name.decode()] = value.decode()
        elif kind == b"K":
            conn.pid, conn.secret = pgwire.int32(payload), pgwire.int32(payload, 4)
        elif kind == b"Z":
            conn.status = payload[:1]
            return


async def cancel(target: Target, pid: int, secret: int) -> None:
    """Send a CancelRequest for the query running on backend ``pid``."""
    loop = asyncio.get_running_loop()
    body = (80877102).to_bytes(4, "big") + pid.to_bytes(4, "big") + secret.to_bytes(4, "big")
    if target.host.startswith("/"):
        transport, _ = await loop.create_unix_connection(
            pgwire.MessageStream, f"{target.host}/.s.PGSQL.{target.port}"
        )
    else:
        transport, _ = await loop.create_connection(pgwire.MessageStream, target.host, target.port)
    transport.write((16).to_bytes(4, "big") + body)
    transport.close()
