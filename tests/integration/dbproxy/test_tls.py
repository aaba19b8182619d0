# ruff: noqa: F811  (pytest fixtures imported from test_dbproxy_wire)
"""TLS to the target database (sslmode), through a TLS-terminating relay in front of PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.dbproxy.test_wire import asyncpg_client, socket_dir, start_proxy, target_url  # noqa: F401

pytestmark = pytest.mark.integration

SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stepline test db")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class TlsRelay:
    """Answers SSLRequest with 'S', terminates TLS, and relays the rest to the plain PostgreSQL."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.tls_sessions = 0
        self.port = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            if await reader.readexactly(8) != SSL_REQUEST:
                writer.close()
                return
            writer.write(b"S")
            await writer.drain()
            await writer.start_tls(self.context)
            self.tls_sessions += 1
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 5432)

            async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
                with contextlib.suppress(ConnectionError):
                    while data := await src.read(65536):
                        dst.write(data)
                        await dst.drain()
                dst.close()

            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[tuple[TlsRelay, Path]]:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    running = TlsRelay(context)
    await running.start()
    yield running, cert
    await running.close()


def through(url: str, relay: TlsRelay, query: str) -> str:
    return url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}") + "?" + query


@pytest.mark.parametrize("mode", ["require", "verify-full"])
async def test_tls_to_the_database(
    relay: tuple[TlsRelay, Path], target_url: str, socket_dir: Path, mode: str
) -> None:
    server, cert = relay
    proxy = await start_proxy(through(target_url, server, f"sslmode={mode}&sslrootcert={cert}"), socket_dir)
    try:
        client = await asyncpg_client(proxy)
        assert await client.fetchval("SELECT $1::int + 1", 1) == 2
        await client.close()
        assert server.tls_sessions >= 1
    finally:
        await proxy.close()


async def test_an_untrusted_certificate_is_refused(
    relay: tuple[TlsRelay, Path], target_url: str, socket_dir: Path
) -> None:
    server, _ = relay
    proxy = await start_proxy(through(target_url, server, "sslmode=verify-full"), socket_dir)
    try:
        with pytest.raises(asyncpg.PostgresError, match="certificate verify failed") as refused:
            await asyncpg_client(proxy)
        assert refused.value.sqlstate == "08001"
    finally:
        await proxy.close()


async def test_require_refuses_a_database_without_tls(target_url: str, socket_dir: Path) -> None:
    proxy = await start_proxy(target_url + "?sslmode=require", socket_dir)
    try:
        with pytest.raises(asyncpg.PostgresError, match=r"does not accept TLS \(sslmode=require\)"):
            await asyncpg_client(proxy)
    finally:
        await proxy.close()
