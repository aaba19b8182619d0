"""Request and response bodies for db proxies, file systems and access points (camelCase JSON).

A proxy's target URL goes in once and never comes back out: responses show ``target``
(user@host:port/database) only.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas import Schema

RESOURCE_NAME = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
"""Proxy, file system and access point names: they become socket directories and mount paths."""


class DbProxyCreate(Schema):
    name: str = Field(pattern=RESOURCE_NAME)
    target_url: str = Field(min_length=1, max_length=2000)
    """postgresql://user[:password]@host[:port]/database (or ?host=/socket/dir)."""
    pool_size: int = Field(default=10, ge=1, le=1000)
    borrow_timeout: float = Field(default=5.0, gt=0, le=3600)
    """Seconds a client waits for a free connection before it gets an error."""
    idle_timeout: float = Field(default=300.0, gt=0, le=86400)
    """Seconds an unused server connection stays open."""


class DbProxyUpdate(Schema):
    """Only the fields given change; running proxies follow without dropping their clients."""

    target_url: str | None = Field(default=None, min_length=1, max_length=2000)
    pool_size: int | None = Field(default=None, ge=1, le=1000)
    borrow_timeout: float | None = Field(default=None, gt=0, le=3600)
    idle_timeout: float | None = Field(default=None, gt=0, le=86400)


class DbProxyPublic(Schema):
    name: str
    target: str
    pool_size: int
    borrow_timeout: float
    idle_timeout: float
    socket_directory: str
    """Where functions that attach it find the sockets (``host=`` for drivers)."""
    created_at: datetime
    updated_at: datetime


class DbProxyList(Schema):
    db_proxies: list[DbProxyPublic]


class ProcessPool(Schema):
    """One process's pool of a proxy."""

    process: str
    """``host:pid`` of the process running it."""
    size: int
    open: int
    busy: int
    idle: int
    waiters: int
    borrows: int
    borrow_timeouts: int
    reported_at: datetime
    """When these figures were read: now for this process's own pool, else its last report (every 5 s)."""


class PoolTotals(Schema):
    open: int
    busy: int
    idle: int
    waiters: int


class DbProxyStatus(Schema):
    name: str
    pool_size: int
    """The cluster-wide cap on server connections (every process's pools together)."""
    processes: list[ProcessPool]
    """Every process running a pool of the proxy (none until a function attached to it starts)."""
    totals: PoolTotals


class FileSystemCreate(Schema):
    name: str = Field(pattern=RESOURCE_NAME)
    host_path: str | None = None
    """An operator-allowed host directory (STEPLINE_FILE_SYSTEM_ROOTS); default: under the data directory."""


class FileSystemPublic(Schema):
    name: str
    host_path: str | None
    created_at: datetime


class FileSystemList(Schema):
    file_systems: list[FileSystemPublic]


class PosixUser(Schema):
    uid: int = Field(ge=0, le=2**31 - 1)
    gid: int = Field(ge=0, le=2**31 - 1)


class AccessPointCreate(Schema):
    name: str = Field(pattern=RESOURCE_NAME)
    root_directory: str = Field(default="/", pattern=r"^/", max_length=1000)
    posix_user: PosixUser
    permissions: str = Field(default="0755", pattern=r"^0?[0-7]{3}$")
    """Octal mode of the root directory when it is created."""


class AccessPointPublic(Schema):
    file_system: str
    name: str
    root_directory: str
    posix_user: PosixUser
    permissions: str
    created_at: datetime


class AccessPointList(Schema):
    access_points: list[AccessPointPublic]
