"""Migrations from code (``stepline db upgrade``) and the start-up check for an unmigrated database."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from foundation.errors import StartRefused


class DatabaseNotMigrated(StartRefused):
    """The registry database is missing migrations; the message says what to run."""


def migrations_directory() -> Path:
    """Where the ``migrations`` package lies, found without importing it: the migrations import the
    foundation (their tables' models), so the foundation treats them as data, Alembic's scripts."""
    spec = importlib.util.find_spec("migrations")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the migrations package is not installed next to the foundation")
    return Path(next(iter(spec.submodule_search_locations)))


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration, independent of the working directory."""
    config = Config()
    config.set_main_option("script_location", str(migrations_directory()))
    if url is not None:
        config.attributes["url"] = url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (URL: ``url`` or ``STEPLINE_DATABASE_URL``).

    Runs its own event loop: call it from a thread when one is already running.
    """
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Undo migrations down to ``revision``."""
    command.downgrade(alembic_config(url), revision)


def head_revisions() -> set[str]:
    """The revisions a fully migrated database is at."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def check_migrated(engine: AsyncEngine) -> None:
    """Raise ``DatabaseNotMigrated`` unless the database is at the latest revision."""

    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as connection:
        found = await connection.run_sync(current)
    expected = head_revisions()
    if found != expected:
        have = ", ".join(sorted(found)) or "no migrations"
        raise DatabaseNotMigrated(
            f"the registry database has {have}, it needs {', '.join(sorted(expected))}: "
            "run `stepline db upgrade` (with STEPLINE_DATABASE_URL set) first"
        )
