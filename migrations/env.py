"""Alembic environment: the registry's metadata, an asyncpg connection, the URL from settings.

The URL comes, in order, from ``config.attributes["url"]`` (``foundation.db``), ``-x url=...``,
then ``Settings().database.url`` (``STEPLINE_DATABASE_URL``).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from foundation.registry.database import async_url
from foundation.registry.models import all_models
from foundation.settings import Settings

config = context.config
target_metadata = all_models()


def _url() -> str:
    explicit = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    if explicit:
        return async_url(str(explicit))
    return async_url(Settings().database.url.get_secret_value())


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(_url(), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
    else:
        asyncio.run(_run_online())
