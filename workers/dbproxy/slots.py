"""The cluster-wide cap: each server connection holds one of ``poolSize`` advisory-lock slots on itself.

Every process (API, workers) runs its own pool for a proxy, so a per-process cap would let the
database see processes x poolSize connections. Instead a connection, right after it logs in, takes
a session-level advisory lock on a free slot's key; one that finds none is closed again and its
opener retries later. The lock dies with its connection, so a crashed process frees its slots by
itself, without any coordinator.

The keys are secret (``SlotKeys``): two-key locks ``(class, slot key)``, where the class is the
same for every proxy of a deployment and each slot key is an HMAC of the proxy and the slot, both
derived from the deployment's secret (``Sealer.derive``), so every process agrees on them and no
client can compute them from a proxy's name. A client still sees held keys in ``pg_locks``:
``reserved`` refuses its statements that could lock or unlock two-key locks of that class, and the
free slots' keys are never shown anywhere.

A refused opener also sends a NOTIFY on the proxy's (secret) channel, which every server connection
LISTENs on: a process that holds slots then gives one back (its idle connections close, a busy one
closes when it is next returned), so a process that arrived later is not starved.

Resets cannot use ``DISCARD ALL`` (it releases advisory locks, the slot with them); ``RESET_SQL`` is
DISCARD ALL's documented list with the advisory unlock followed at once by re-taking the slot.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from workers.dbproxy import pgwire
from workers.dbproxy.server import ServerConnection

SLOT_KEY_PURPOSE = "dbproxy-slots-v1"
"""What the deployment's secret is derived for (``Sealer.derive``) to key the slot locks."""


@functools.cache
def process_secret() -> bytes:
    """A random secret for pools not given the deployment's: slots then cap this process only."""
    return secrets.token_bytes(32)


def _int4(digest: bytes) -> int:
    return int.from_bytes(digest[:4], "big", signed=True)


def _mac(secret: bytes, *parts: str) -> bytes:
    return hmac.new(secret, "\0".join(("stepline-dbproxy", *parts)).encode(), hashlib.sha256).digest()


def reserved_class(secret: bytes) -> int:
    """The first key of every slot lock of the deployment (a signed int4)."""
    return _int4(_mac(secret, "slot-class"))


class SlotKeys:
    """One proxy's advisory-lock keys and NOTIFY channel, the same in every process of a deployment."""

    def __init__(self, secret: bytes, proxy: str) -> None:
        self.classid = reserved_class(secret)
        self.channel = f"stepline_dbproxy_{_mac(secret, 'channel', proxy)[:8].hex()}"
        self._secret = secret
        self._proxy = proxy
        self._objids: list[int] = []

    def objid(self, slot: int) -> int:
        """The second key of ``slot``'s lock."""
        while len(self._objids) <= slot:
            self._objids.append(_int4(_mac(self._secret, "slot", self._proxy, str(len(self._objids)))))
        return self._objids[slot]

    def objids(self, size: int) -> list[int]:
        self.objid(size - 1)
        return self._objids[:size]


def claim_sql(keys: SlotKeys, size: int, listen: bool = True) -> str:
    """Take the first free slot (LIMIT 1 stops the scan at the first lock taken), then LISTEN.

    LISTEN comes last: a hot standby refuses it, and the slot must be taken all the same."""
    objids = ",".join(str(objid) for objid in keys.objids(size))
    claim = (
        f"SELECT s - 1 FROM unnest('{{{objids}}}'::int4[]) WITH ORDINALITY AS t(k, s)"
        f" WHERE pg_try_advisory_lock({keys.classid}, k) LIMIT 1"
    )
    return f"{claim}; LISTEN {keys.channel}" if listen else claim


def reset_sql(keys: SlotKeys, slot: int, listen: bool = True) -> str:
    """DISCARD ALL without losing the slot: the client's advisory locks go, ours is taken again."""
    relisten = f"LISTEN {keys.channel}; " if listen else ""
    return (
        "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; UNLISTEN *; "
        f"{relisten}DISCARD PLANS; DISCARD SEQUENCES; DISCARD TEMP; "
        f"SELECT pg_advisory_unlock_all(), pg_try_advisory_lock({keys.classid}, {keys.objid(slot)})"
    )


def notify_sql(keys: SlotKeys, token: str) -> bytes:
    """The message a refused opener sends before it leaves: asks holders to give one slot back.
    ``token`` (hex) tells one request from the next: every connection of a holder hears each."""
    return pgwire.query(f"NOTIFY {keys.channel}, '{token}'")


def signal_token(payload: bytes, keys: SlotKeys) -> bytes | None:
    """The token of this proxy's give-a-slot-back signal in a NotificationResponse (None: not ours)."""
    name, offset = pgwire.split_cstr(payload, 4)
    if name != keys.channel.encode():
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
