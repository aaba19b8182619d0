"""Engine and session creation for the registry, and the constraint naming convention.

Every table module imports this one first, so constraint names are stable across autogenerate runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

SessionMaker = async_sessionmaker[AsyncSession]


def async_url(url: str) -> str:
    """The URL with the asyncpg driver (``postgresql://`` and ``postgres://`` are accepted too)."""
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('://', 1)[0]}://...")


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An asyncpg engine for the registry.

    No ``pool_pre_ping``: with asyncpg it costs three round trips per checkout (begin, ping,
    rollback), more than starting or finishing an execution itself. A connection PostgreSQL dropped
    (a restart) fails the one statement that finds it; SQLAlchemy then discards the whole pool, so
    the next statement reconnects (the worker's writes retry; the API answers that request with 503).
    """
    return create_async_engine(async_url(url), pool_size=pool_size, max_overflow=pool_size)


def session_maker(engine: AsyncEngine) -> SessionMaker:
    """Sessions that keep loaded objects usable after commit (routes return them)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(sessions: SessionMaker) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends normally, rolled back otherwise."""
    async with sessions() as session, session.begin():
        yield session
