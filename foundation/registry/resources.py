"""Resources that functions attach: database proxies, file systems and their access points.

A proxy's target URL is stored sealed (encrypted with a key derived from the secret key setting);
only ``target_summary`` (no password) is ever shown. Repositories take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, NotFound


def utcnow() -> datetime:
    return datetime.now(UTC)


class DbProxy(SQLModel, table=True):
    """A pooled route from functions to one PostgreSQL database."""

    __tablename__ = "db_proxy"

    name: str = Field(primary_key=True, max_length=64)
    target_sealed: str = Field(sa_column=Column(Text, nullable=False))
    """The target URL, encrypted (``foundation.sealing``)."""
    target_summary: str = Field(sa_column=Column(Text, nullable=False))
    """user@host:port/database: what may be shown."""
    pool_size: int
    borrow_timeout: float
    idle_timeout: float
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class FileSystem(SQLModel, table=True):
    """A shared directory: under the data directory (``host_path`` None) or at an allowed host path."""

    __tablename__ = "file_system"

    name: str = Field(primary_key=True, max_length=64)
    host_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AccessPoint(SQLModel, table=True):
    """A root directory inside a file system and the POSIX identity functions use there."""

    __tablename__ = "access_point"

    file_system_name: str = Field(
        sa_column=Column(
            String(64), ForeignKey("file_system.name", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    name: str = Field(primary_key=True, max_length=64)
    root_directory: str = Field(sa_column=Column(Text, nullable=False))
    uid: int
    gid: int
    permissions: int = Field(sa_column=Column(Integer, nullable=False))
    """Mode of the root directory when the access point creates it (e.g. 0o750)."""
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ResourceExists(Conflict):
    """A resource with that name already exists."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} {name!r} already exists")


class ResourceNotFound(NotFound):
    """No such resource."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} {name!r} does not exist")


# database proxies -------------------------------------------------------------------------------


async def add_db_proxy(session: AsyncSession, proxy: DbProxy) -> DbProxy:
    if await session.get(DbProxy, proxy.name) is not None:
        raise ResourceExists("db proxy", proxy.name)
    session.add(proxy)
    await session.flush()
    return proxy


async def get_db_proxy(session: AsyncSession, name: str) -> DbProxy:
    proxy = await session.get(DbProxy, name)
    if proxy is None:
        raise ResourceNotFound("db proxy", name)
    return proxy


async def update_db_proxy(session: AsyncSession, proxy: DbProxy) -> DbProxy:
    """Write back a proxy read with ``get_db_proxy`` and changed."""
    session.add(proxy)
    await session.flush()
    return proxy


async def list_db_proxies(session: AsyncSession) -> Sequence[DbProxy]:
    return (await session.exec(select(DbProxy).order_by(col(DbProxy.name)))).all()


async def delete_db_proxy(session: AsyncSession, name: str) -> None:
    await session.delete(await get_db_proxy(session, name))
    await session.flush()


# file systems and access points -----------------------------------------------------------------


async def add_file_system(session: AsyncSession, file_system: FileSystem) -> FileSystem:
    if await session.get(FileSystem, file_system.name) is not None:
        raise ResourceExists("file system", file_system.name)
    session.add(file_system)
    await session.flush()
    return file_system


async def get_file_system(session: AsyncSession, name: str) -> FileSystem:
    file_system = await session.get(FileSystem, name)
    if file_system is None:
        raise ResourceNotFound("file system", name)
    return file_system


async def list_file_systems(session: AsyncSession) -> Sequence[FileSystem]:
    return (await session.exec(select(FileSystem).order_by(col(FileSystem.name)))).all()


async def delete_file_system(session: AsyncSession, name: str) -> None:
    await session.delete(await get_file_system(session, name))
    await session.flush()


async def add_access_point(session: AsyncSession, access_point: AccessPoint) -> AccessPoint:
    await get_file_system(session, access_point.file_system_name)
    key = (access_point.file_system_name, access_point.name)
    if await session.get(AccessPoint, key) is not None:
        raise ResourceExists("access point", f"{key[0]}/{key[1]}")
    session.add(access_point)
    await session.flush()
    return access_point


async def get_access_point(session: AsyncSession, file_system: str, name: str) -> AccessPoint:
    access_point = await session.get(AccessPoint, (file_system, name))
    if access_point is None:
        raise ResourceNotFound("access point", f"{file_system}/{name}")
    return access_point


async def list_access_points(session: AsyncSession, file_system: str) -> Sequence[AccessPoint]:
    await get_file_system(session, file_system)
    query = select(AccessPoint).where(col(AccessPoint.file_system_name) == file_system)
    return (await session.exec(query.order_by(col(AccessPoint.name)))).all()


async def delete_access_point(session: AsyncSession, file_system: str, name: str) -> None:
    await session.delete(await get_access_point(session, file_system, name))
    await session.flush()
