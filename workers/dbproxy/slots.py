"""The cluster-wide cap: each server connection holds one of ``poolSize`` advisory-lock slots on itself.

Every process (API, workers) runs its own pool for a proxy, so a per-process cap would let the
database see processes x poolSize connections. Instead a connection, right after it logs in, takes
a session-level advisory lock ``(proxy key, slot)`` for a free slot in ``0..poolSize-1``; one that
finds none is closed again and its opener retries later. The lock dies with its connection, so a
crashed process frees its slots by itself, without any coordinator.

A refused opener also sends a NOTIFY on the proxy's channel, which every server connection
LISTENs on: a process that holds slots then gives one back (its idle connections close, a busy one
closes when it is next returned), so a process that arrived later is not starved.

Resets cannot use ``DISCARD ALL`` (it releases advisory locks, the slot with them); ``RESET_SQL`` is
DISCARD ALL's documented list with the advisory unlock followed at once by re-taking the slot.
"""

from __future__ import annotations

import hashlib

from workers.dbproxy import pgwire
from workers.dbproxy.server import ServerConnection


def proxy_key(name: str) -> int:
    """The first advisory-lock key of proxy ``name`` (a signed int4, the same in every process)."""
    digest = hashlib.blake2b(f"stepline-dbproxy:{name}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def channel(key: int) -> str:
    """The NOTIFY channel the proxy's connections listen on."""
    return f"stepline_dbproxy_{key & 0xFFFFFFFF:08x}"


def claim_sql(key: int, size: int, listen: bool = True) -> str:
    """Take the first free slot (LIMIT 1 stops the scan at the first lock taken), then LISTEN.

    LISTEN comes last: a hot standby refuses it, and the slot must be taken all the same."""
    claim = f"SELECT s FROM generate_series(0, {size - 1}) AS s WHERE pg_try_advisory_lock({key}, s) LIMIT 1"
    return f"{claim}; LISTEN {channel(key)}" if listen else claim


def reset_sql(key: int, slot: int, listen: bool = True) -> str:
    """DISCARD ALL without losing the slot: the client's advisory locks go, ours is taken again."""
    relisten = f"LISTEN {channel(key)}; " if listen else ""
    return (
        "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; UNLISTEN *; "
        f"{relisten}DISCARD PLANS; DISCARD SEQUENCES; DISCARD TEMP; "
        f"SELECT pg_advisory_unlock_all(), pg_try_advisory_lock({key}, {slot})"
    )


def notify_sql(key: int, token: str) -> bytes:
    """The message a refused opener sends before it leaves: asks holders to give one slot back.
    ``token`` (hex) tells one request from the next: every connection of a holder hears each."""
    return pgwire.query(f"NOTIFY {channel(key)}, '{token}'")


def signal_token(payload: bytes, key: int) -> bytes | None:
    """The token of this proxy's give-a-slot-back signal in a NotificationResponse (None: not ours)."""
    name, offset = pgwire.split_cstr(payload, 4)
    if name != channel(key).encode():
        return None
    token, _ = pgwire.split_cstr(payload, offset)
    return token


def data_row(payload: bytes) -> list[bytes | None]:
    """The text values of a DataRow message."""
    count = int.from_bytes(payload[:2], "big")
    values: list[bytes | None] = []
    offset = 2
    for _ in range(count):
        length = int.from_bytes(payload[offset : offset + 4], "big", signed=True)
        offset += 4
        if length < 0:
            values.append(None)
        else:
            values.append(payload[offset : offset + length])
            offset += length
    return values


async def run(conn: ServerConnection, sql: str) -> tuple[list[list[bytes | None]], dict[str, str] | None]:
    """Run a simple query on a connection no client holds: (rows, the error's fields if one failed).

    A give-a-slot-back signal that arrives meanwhile marks the connection."""
    conn.stream.write(pgwire.query(sql))
    rows: list[list[bytes | None]] = []
    error: dict[str, str] | None = None
    while True:
        kind, payload = await conn.stream.read()
        if kind == b"D":
            rows.append(data_row(payload))
        elif kind == b"E":
            error = pgwire.error_fields(payload)
        elif kind == b"A":
            pass  # a give-back signal heard while claiming or resetting: another connection answers it
        elif kind == b"Z":
            conn.status = payload[:1]
            return rows, error
