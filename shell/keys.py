"""``stepline keys``: the access keys AWS SDKs sign with (SigV4), stored with the secret sealed.

The secret is shown once, at creation; the registry keeps it sealed with the key database proxy
targets use (``STEPLINE_SECRET_KEY``, else ``<data_dir>/secret.key``), so the API that verifies
signatures must share that key.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.registry import access_keys
from foundation.registry.database import create_engine, session_maker, unit_of_work
from foundation.sealing import Sealer
from foundation.settings import Settings

T = TypeVar("T")


async def _with_session(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    engine = create_engine(settings.database.url.get_secret_value(), pool_size=1)
    try:
        async with unit_of_work(session_maker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


async def create_key(settings: Settings, account_id: str) -> tuple[str, str]:
    """A new key pair: (access key id, secret)."""
    if not re.fullmatch(r"\d{12}", account_id):
        raise ValueError(f"the account id must be 12 digits, not {account_id!r}")
    secret_key = settings.secret_key.get_secret_value() if settings.secret_key else None
    sealer = Sealer.from_settings(secret_key, settings.data_dir.resolve())
    key_id, secret = access_keys.new_key_pair()

    async def add(session: AsyncSession) -> None:
        await access_keys.add_access_key(session, key_id, sealer.seal(secret), account_id)

    await _with_session(settings, add)
    return key_id, secret


async def list_keys(settings: Settings) -> list[access_keys.AccessKey]:
    async def read(session: AsyncSession) -> list[access_keys.AccessKey]:
        return list(await access_keys.list_access_keys(session))

    return await _with_session(settings, read)


async def revoke_key(settings: Settings, access_key_id: str) -> access_keys.AccessKey:
    """Revoke a key (raises ``AccessKeyNotFound``)."""

    async def revoke(session: AsyncSession) -> access_keys.AccessKey:
        return await access_keys.revoke_access_key(session, access_key_id)

    return await _with_session(settings, revoke)
