# ruff: noqa: F811  (pytest fixtures imported from test_dbproxy_wire)
"""A tenant cannot take, release or hold the db proxy's connection slots (advisory locks).

Every proxy caps its connections cluster-wide with session advisory locks, one per slot
(``workers.dbproxy.slots``). A function on proxy A reaches the same database as proxy B; if it
could lock B's slot keys it would starve B, and unlocking its own slot would let A exceed its cap.
The attacker here knows everything public: the proxy names, the source (how keys used to be derived
from the name), and ``pg_locks``, which shows every held advisory lock's keys to any user.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from tests.integration.dbproxy.test_functions import data_dir, register_proxy, service, target  # noqa: F401
from tests.integration.dbproxy.test_wire import socket_dir, start_proxy, target_url  # noqa: F401
from tests.integration.function_kit import body, call, requires_bwrap, unique
from workers.dbproxy import pgwire
from workers.dbproxy.proxy import NATIVE_SOCKET, WIRE_SOCKET, Proxy
from workers.functions.codestore import zip_files
from workers.functions.service import FunctionService

POOL_SIZE = 2
REFUSED = "42501"  # insufficient_privilege


@pytest.fixture
async def proxies(target_url: str, socket_dir: Path) -> AsyncIterator[tuple[Proxy, Proxy]]:
    """Proxies a (the attacker's) and b (the victim's) on one database, in one deployment."""
    a = await start_proxy(target_url, socket_dir / "a", size=POOL_SIZE, borrow_timeout=3.0)
    b = await start_proxy(target_url, socket_dir / "b", size=POOL_SIZE, borrow_timeout=3.0)
    yield a, b
    await a.close()
    await b.close()


async def client(proxy: Proxy) -> asyncpg.Connection:
    return await asyncpg.connect(host=str(proxy.directory), user="fn", database="any")


def public_keys(name: str) -> list[tuple[int, int]]:
    """What anyone who reads the source computes from a proxy's public name (the old derivation)."""
    digest = hashlib.blake2b(f"stepline-dbproxy:{name}".encode(), digest_size=4).digest()
    key = int.from_bytes(digest, "big", signed=True)
    return [(key, slot) for slot in range(POOL_SIZE)]


async def visible_slot_keys(conn: asyncpg.Connection, mine: bool = False) -> list[tuple[int, int]]:
    """Two-key advisory locks held by other sessions (or by this one), as pg_locks shows them."""
    rows = await conn.fetch(
        "SELECT classid::bigint AS k1, objid::bigint AS k2 FROM pg_locks"
        " WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND (pid = pg_backend_pid()) = $1"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        mine,
    )
    return [(int4(r["k1"]), int4(r["k2"])) for r in rows]


def int4(value: int) -> int:
    return value - 2**32 if value >= 2**31 else value


async def attempt(conn: asyncpg.Connection, sql: str, *args: object) -> str:
    """'refused' (with the proxy's clear error), 'ran' or the other error's SQLSTATE."""
    try:
        await conn.fetchval(sql, *args)
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == REFUSED:
            assert "advisory" in str(exc) and "slot" in str(exc), str(exc)
            return "refused"
        return exc.sqlstate or "error"
    return "ran"


async def test_a_client_of_one_proxy_cannot_starve_another(proxies: tuple[Proxy, Proxy]) -> None:
    a, b = proxies
    victim = await client(b)
    assert await victim.fetchval("SELECT 1") == 1  # b opens a connection: its slot shows in pg_locks
    attacker = await client(a)
    try:
        async with attacker.transaction():  # holds its server connection, and any lock it wins
            seen = await visible_slot_keys(attacker)
            assert seen, "b's slot should be visible in pg_locks"
            by_parameters = "SELECT pg_try_advisory_lock($1::int, $2::int)"
            outcomes = []
            for k1, k2 in seen:  # keys that are b's: every attempt is refused, with a clear error
                outcomes.append(await attempt(attacker, f"SELECT pg_try_advisory_lock({k1}, {k2})"))
                outcomes.append(await attempt(attacker, by_parameters, k1, k2))
                outcomes.append(await attempt(attacker, f"SELECT pg_advisory_unlock({k1}, {k2})"))
            for k1, k2 in public_keys(b.config.name):  # guesses: refused or harmless, as b shows below
                await attempt(attacker, f"SELECT pg_try_advisory_lock({k1}, {k2})")
                await attempt(attacker, by_parameters, k1, k2)

            # Meanwhile b still has every one of its slots: all its transactions can be open at once.
            opened = 0
            all_open = asyncio.Event()

            async def use_b() -> None:
                nonlocal opened
                conn = await client(b)
                try:
                    async with conn.transaction():
                        await conn.execute("SELECT 1")
                        opened += 1
                        if opened == POOL_SIZE:
                            all_open.set()
                        await asyncio.wait_for(all_open.wait(), 6)
                finally:
                    await conn.close()

            results = await asyncio.gather(*(use_b() for _ in range(POOL_SIZE)), return_exceptions=True)
            assert not [r for r in results if r is not None], f"b was starved: {results}"
            assert set(outcomes) == {"refused"}, list(zip(seen, outcomes[::3], strict=False))
    finally:
        await attacker.close()
        await victim.close()


async def test_a_client_cannot_release_its_own_connections_slot(proxies: tuple[Proxy, Proxy]) -> None:
    a, _ = proxies
    attacker = await client(a)
    try:
        async with attacker.transaction():
            (k1, k2), *_ = await visible_slot_keys(attacker, mine=True)
            assert await attempt(attacker, f"SELECT pg_advisory_unlock({k1}, {k2})") == "refused"
            assert await attempt(attacker, "SELECT pg_advisory_unlock($1::int, $2::int)", k1, k2) == "refused"
            assert await visible_slot_keys(attacker, mine=True) == [(k1, k2)]  # still held
    finally:
        await attacker.close()


DISGUISES = [
    "SELECT pg_catalog.pg_try_advisory_lock({k1}, {k2})",
    'SELECT "pg_try_advisory_lock"({k1}, {k2})',
    "SELECT PG_TRY_ADVISORY_LOCK /* hidden */ ( {k1} , {k2} )",
    'SELECT U&"pg\\005ftry\\005fadvisory\\005flock"({k1}, {k2})',
    "SELECT pg_try_advisory_lock(({k1}), {k2})",
    "SELECT pg_try_advisory_lock({k1} + 0, {k2})",
    "SELECT pg_try_advisory_xact_lock({k1}, {k2})",
    "SELECT pg_advisory_lock_shared({k1}, {k2})",
    "SELECT pg_try_advisory_lock(k1, k2) FROM (VALUES ({k1}, {k2})) AS t(k1, k2)",
    "CREATE FUNCTION pg_temp.grab(int, int) RETURNS bool LANGUAGE sql"
    " AS 'SELECT pg_try_advisory_lock($1, $2)'",
    "CREATE OPERATOR pg_temp.### (LEFTARG = int, RIGHTARG = int, FUNCTION = pg_try_advisory_lock)",
    "SELECT 'pg_try_advisory_lock(int, int)'::regprocedure",
]


@pytest.mark.parametrize("sql", DISGUISES)
async def test_disguised_two_key_calls_are_refused(proxies: tuple[Proxy, Proxy], sql: str) -> None:
    a, _ = proxies
    attacker = await client(a)
    try:
        async with attacker.transaction():
            (k1, k2), *_ = await visible_slot_keys(attacker, mine=True)
            assert await attempt(attacker, sql.format(k1=k1, k2=k2)) == "refused"
    finally:
        await attacker.close()


async def test_one_key_locks_and_literal_foreign_classes_still_work(proxies: tuple[Proxy, Proxy]) -> None:
    a, _ = proxies
    conn = await client(a)
    try:
        async with conn.transaction():  # session locks last as long as the borrowed connection
            assert await conn.fetchval("SELECT pg_try_advisory_lock(42)") is True
            assert await conn.fetchval("SELECT pg_advisory_unlock($1::bigint)", 42) is True
            assert await conn.fetchval("SELECT pg_try_advisory_xact_lock(7, 8)") is True
        await conn.execute("SELECT pg_advisory_unlock_all()")  # asyncpg's pool resets with it
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


def _raw_function_call(path: Path, oid: int, args: list[int]) -> dict[str, str]:
    """A FunctionCall message (the protocol's fast path, by function OID): the error fields."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(pgwire.startup({"user": "fn", "database": "any"}))
        _read_until_ready(sock)
        body = struct.pack("!I", oid) + struct.pack("!hh", 1, 1) + struct.pack("!h", len(args))
        for value in args:
            body += struct.pack("!i", 4) + struct.pack("!i", value)
        sock.sendall(pgwire.message(b"F", body + struct.pack("!h", 1)))
        fields: dict[str, str] = {}
        for kind, payload in _read_until_ready(sock):
            if kind == b"E":
                fields = pgwire.error_fields(payload)
        return fields


def _read_until_ready(sock: socket.socket) -> list[tuple[bytes, bytes]]:
    messages: list[tuple[bytes, bytes]] = []
    buffer = b""
    while True:
        while len(buffer) < 5 or len(buffer) < 1 + int.from_bytes(buffer[1:5], "big"):
            chunk = sock.recv(65536)
            assert chunk, "the proxy closed the connection"
            buffer += chunk
        length = int.from_bytes(buffer[1:5], "big")
        kind, payload, buffer = buffer[:1], buffer[5 : 1 + length], buffer[1 + length :]
        messages.append((kind, payload))
        if kind == b"Z":
            return messages


async def test_the_fast_path_function_call_is_refused_too(proxies: tuple[Proxy, Proxy]) -> None:
    a, b = proxies
    victim = await client(b)
    try:
        assert await victim.fetchval("SELECT 1") == 1
        (k1, k2), *_ = await visible_slot_keys(victim, mine=True)
    finally:
        await victim.close()
    for oid in (2888, 3095, 2890):  # pg_try_advisory_lock, pg_try_advisory_xact_lock, pg_advisory_unlock
        fields = await asyncio.to_thread(_raw_function_call, a.directory / WIRE_SOCKET, oid, [k1, k2])
        assert fields.get("C") == REFUSED, (oid, fields)


async def test_the_bundled_clients_socket_refuses_them_too(proxies: tuple[Proxy, Proxy]) -> None:
    import json

    a, _ = proxies
    reader, writer = await asyncio.open_unix_connection(str(a.directory / NATIVE_SOCKET))
    try:
        request = json.dumps({"op": "query", "sql": "SELECT pg_try_advisory_lock($1, $2)", "params": [1, 2]})
        writer.write(pgwire.message(b"J", request.encode()))
        header = await reader.readexactly(5)
        answer = json.loads(await reader.readexactly(int.from_bytes(header[1:], "big") - 4))
    finally:
        writer.close()
    assert answer["ok"] is False and answer["error"]["code"] == REFUSED, answer


GRAB = """
import stepline_db

def handler(event, context):
    db = stepline_db.connect()
    outcomes = []
    with db.transaction():
        held = db.query(
            "SELECT classid::bigint AS k1, objid::bigint AS k2 FROM pg_locks WHERE locktype = 'advisory'"
            " AND objsubid = 2 AND pid <> pg_backend_pid()"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        for row in held:
            k1 = row['k1'] - 2**32 if row['k1'] >= 2**31 else row['k1']
            k2 = row['k2'] - 2**32 if row['k2'] >= 2**31 else row['k2']
            for sql, params in ((f'SELECT pg_try_advisory_lock({k1}, {k2}) AS won', []),
                                ('SELECT pg_try_advisory_lock($1::int, $2::int) AS won', [k1, k2])):
                try:
                    outcomes.append(str(db.query(sql, params)[0]['won']))
                except stepline_db.DatabaseError as e:
                    outcomes.append(e.code)
    return {'held': len(held), 'outcomes': outcomes}
"""


@requires_bwrap
async def test_a_function_on_one_proxy_cannot_take_anothers_slots(
    service: FunctionService, target: str
) -> None:
    """Through the real path: a sandboxed function, its proxy started by the worker with the
    deployment's secret, and another proxy on the same database holding a slot."""
    from foundation.sealing import Sealer
    from workers.attachments import running_proxies
    from workers.dbproxy.slots import SLOT_KEY_PURPOSE, reserved_class

    mine, theirs = await register_proxy(service, target), await register_proxy(service, target)
    manager = running_proxies()
    assert manager is not None
    victim = await manager.ensure(theirs)
    assert victim.pool.keys.classid == reserved_class(Sealer("t").derive(SLOT_KEY_PURPOSE))
    await victim.pool.release(await victim.pool.acquire())  # an idle connection holding a slot
    stored = service.code.put(zip_files({"app.py": GRAB}))
    fields = registry.FunctionSettings(
        runtime="python3.11", handler="app.handler", code_sha256=stored.sha256, code_size=stored.size,
        db_proxies=[mine], timeout=30,
    )  # fmt: skip
    name = unique("grab")
    async with unit_of_work(service.sessions) as session:
        await registry.create_function(session, name, fields)

    result = await call(service, name, {})
    assert result.function_error is None, result.payload
    outcome = body(result)
    assert outcome["held"] >= 1 and set(outcome["outcomes"]) == {REFUSED}, outcome
    held = [await victim.pool.acquire() for _ in range(victim.config.size)]  # every slot still b's
    for conn in held:
        await victim.pool.release(conn)
