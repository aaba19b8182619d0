"""Migrations: up, down, up on an empty database; models and migrations in step; the start-up check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from stepline.db import DatabaseNotMigrated, check_migrated, downgrade, head_revisions, upgrade
from stepline.registry import all_models
from stepline.registry.database import create_engine
from tests.integration.conftest import create_database, drop_database

pytestmark = pytest.mark.integration


@pytest.fixture
async def scratch_url() -> AsyncIterator[str]:
    url = await create_database()
    yield url
    await drop_database(url)


async def table_names(url: str) -> set[str]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda c: set(c.dialect.get_table_names(c)) - {"alembic_version"}
            )
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    await asyncio.to_thread(upgrade, scratch_url)
    created = await table_names(scratch_url)
    assert {"state_machine", "state_machine_version", "execution", "execution_history_event"} <= created
    await asyncio.to_thread(downgrade, scratch_url)
    assert await table_names(scratch_url) == set()
    await asyncio.to_thread(upgrade, scratch_url)
    assert await table_names(scratch_url) == created


async def test_models_and_migrations_have_not_drifted(database_url: str) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, all_models()))

    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == [], f"models differ from migrations (add a revision): {diff}"


async def test_unmigrated_database_is_refused_with_the_fix(scratch_url: str) -> None:
    engine = create_engine(scratch_url, pool_size=1)
    try:
        with pytest.raises(DatabaseNotMigrated, match="stepline db upgrade"):
            await check_migrated(engine)
        await asyncio.to_thread(upgrade, scratch_url)
        await check_migrated(engine)
    finally:
        await engine.dispose()
    assert head_revisions()
