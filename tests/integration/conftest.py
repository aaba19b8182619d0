"""Real services for integration tests: a Temporal dev server and a fresh PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from stepline.embedded import temporal_dev_server

ADMIN_URL = os.environ.get("STEPLINE_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def temporal_address() -> Iterator[str]:
    """A Temporal dev server for the whole session (in memory), or STEPLINE_TEST_TEMPORAL_ADDRESS."""
    existing = os.environ.get("STEPLINE_TEST_TEMPORAL_ADDRESS")
    if existing:
        yield existing
        return
    with temporal_dev_server() as address:
        yield address


@pytest.fixture(scope="session")
async def empty_database_url() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (plain ``postgresql://`` URL), dropped after the session."""
    name = f"stepline_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
