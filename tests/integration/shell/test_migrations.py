"""Migrations: up, down, up on an empty database; models and migrations in step; the start-up check."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from foundation.db import DatabaseNotMigrated, check_migrated, downgrade, head_revisions, upgrade
from foundation.registry.database import create_engine
from foundation.registry.models import all_models
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
    assert {"state_machine", "state_machine_version", "execution", "execution_history_chunk"} <= created
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


async def test_history_rows_move_into_chunks_and_back(scratch_url: str) -> None:
    """0004 turns one-row-per-event histories into one chunk per execution; its downgrade undoes it."""
    import asyncpg

    await asyncio.to_thread(upgrade, scratch_url, "0003")
    connection = await asyncpg.connect(scratch_url)
    try:
        await connection.execute(
            "INSERT INTO execution (id, name, state_machine_name, state_machine_version, status, input,"
            " start_date) VALUES ('m:e', 'e', 'm', 1, 'SUCCEEDED', '{}', now())"
        )
        await connection.executemany(
            "INSERT INTO execution_history_event (execution_id, event_id, event) VALUES ('m:e', $1, $2)",
            [(i, f'{{"id":{i},"type":"T{i}"}}') for i in (3, 1, 2)],
        )
        await asyncio.to_thread(upgrade, scratch_url)
        chunk = await connection.fetchrow(
            "SELECT first_event_id, last_event_id, events::text FROM execution_history_chunk"
        )
        assert chunk is not None and (chunk[0], chunk[1]) == (1, 3)
        assert [e["type"] for e in json.loads(chunk[2])] == ["T1", "T2", "T3"]
        await asyncio.to_thread(downgrade, scratch_url, "0003")
        rows = await connection.fetch(
            "SELECT event_id, event::text FROM execution_history_event ORDER BY event_id"
        )
        assert [(r[0], json.loads(r[1])["type"]) for r in rows] == [(1, "T1"), (2, "T2"), (3, "T3")]
    finally:
        await connection.close()
