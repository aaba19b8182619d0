"""What a function's configuration attaches to its sandboxes: file systems and database proxies.

The function runtime calls ``resolve_attachments`` when it creates an execution environment and
applies the result (``workers.mounts.Attachments``: bind mounts, environment variables, the POSIX
identity to run as). With neither
``dbProxies`` nor ``fileSystemConfigs`` configured it attaches nothing and needs nothing running;
otherwise the process must be inside ``serve_attachments`` (the worker's and the API's lifespans),
which runs the proxies and gives access to the registry.

In the sandbox, proxy ``orders`` appears as the directory ``/run/stepline/db/orders`` holding the
PostgreSQL socket ``.s.PGSQL.5432`` (drivers: ``host=/run/stepline/db/orders``) and
``stepline.sock`` (the bundled clients), announced by ``STEPLINE_DB_ORDERS_HOST``, ``..._URL`` and
``..._SOCKET``; with exactly one proxy, ``PGHOST``/``PGUSER``/``PGDATABASE`` point at it too.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from foundation.errors import InvalidValue
from foundation.registry import resources
from foundation.registry.database import SessionMaker
from foundation.sealing import Sealer
from foundation.settings import Settings
from workers import filesystems
from workers.dbproxy import metrics as proxy_metrics
from workers.dbproxy.manager import ProxyManager, ProxySpec, remove_stale_roots, socket_root
from workers.dbproxy.slots import SLOT_KEY_PURPOSE
from workers.mounts import SANDBOX_UID, Attachments, BindMount

__all__ = [
    "DB_MOUNT_PARENT",
    "AttachmentError",
    "env_name",
    "resolve_attachments",
    "running_proxies",
    "serve_attachments",
]

DB_MOUNT_PARENT = "/run/stepline/db"


class AttachmentError(InvalidValue):
    """A function configuration whose attachments cannot be provided; the message says which field."""


@dataclass(frozen=True, slots=True)
class _Runtime:
    sessions: SessionMaker
    proxies: ProxyManager


_runtime: _Runtime | None = None


@asynccontextmanager
async def serve_attachments(
    settings: Settings, sessions: SessionMaker, metrics: CollectorRegistry | None = None
) -> AsyncIterator[None]:
    """Run this process's db proxies and let ``resolve_attachments`` read the registry; the pools'
    figures go to the Prometheus registry ``metrics`` (default: prometheus_client's)."""
    global _runtime
    secret = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    sealers: list[Sealer] = []  # made on first use: nothing is written to data_dir unless needed

    async def load(name: str) -> ProxySpec:
        async with sessions() as session:
            row = await resources.get_db_proxy(session, name)
        if not sealers:
            sealers.append(Sealer.from_settings(secret, settings.data_dir))
        sealer = sealers[0]
        return ProxySpec(
            name, sealer.open(row.target_sealed), row.pool_size, row.borrow_timeout, row.idle_timeout,
            slot_secret=sealer.derive(SLOT_KEY_PURPOSE),  # every process of the deployment agrees on it
        )  # fmt: skip

    root = socket_root(settings.data_dir)
    remove_stale_roots(root.parent)
    manager = ProxyManager(root, load)
    proxy_metrics.track(manager, metrics)
    manager.start_housekeeping()
    previous, _runtime = _runtime, _Runtime(sessions, manager)
    try:
        yield
    finally:
        _runtime = previous
        await manager.close()


def running_proxies() -> ProxyManager | None:
    """The proxy manager of this process (inside ``serve_attachments``), for metrics and tests."""
    return _runtime.proxies if _runtime is not None else None


def env_name(name: str) -> str:
    """Proxy name -> the part of its environment variables' names (``orders-db`` -> ``ORDERS_DB``)."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


async def resolve_attachments(function_config: Mapping[str, Any], data_dir: Path) -> Attachments:
    """The attachments for a function's configuration (``fileSystemConfigs``, ``dbProxies``)."""
    proxies = _list(function_config, "dbProxies")
    file_systems = _list(function_config, "fileSystemConfigs")
    if not proxies and not file_systems:
        return Attachments()
    runtime = _runtime
    if runtime is None:
        raise AttachmentError("dbProxies/fileSystemConfigs need serve_attachments() running in this process")
    mounts: list[BindMount] = []
    try:
        return await _resolve(runtime, proxies, file_systems, data_dir, mounts)
    except BaseException:
        for mount in mounts:
            if mount.fd is not None:
                os.close(mount.fd)
        raise


async def _resolve(
    runtime: _Runtime, proxies: list[Any], file_systems: list[Any], data_dir: Path, mounts: list[BindMount]
) -> Attachments:
    """``resolve_attachments``, collecting the mounts in ``mounts`` (closed by the caller on failure)."""
    run_as: tuple[int, int] | None = None
    for index, config in enumerate(file_systems):
        mount, identity = await _file_system_mount(runtime, config, data_dir, f"fileSystemConfigs[{index}]")
        mounts.append(mount)
        if identity is not None:
            if run_as is not None and run_as != identity:
                raise AttachmentError(
                    "fileSystemConfigs: access points with different uid/gid in one function"
                )
            run_as = identity
    environment: dict[str, str] = {}
    uid = run_as[0] if run_as is not None else SANDBOX_UID
    for index, name in enumerate(proxies):
        if not isinstance(name, str):
            raise AttachmentError(f"dbProxies[{index}] must be a proxy name (string)")
        mounts.insert(index, await _proxy_mount(runtime, name, environment, uid))
    if len(proxies) == 1:
        environment.update(PGHOST=f"{DB_MOUNT_PARENT}/{proxies[0]}", PGUSER="stepline", PGDATABASE=proxies[0])
    return Attachments(mounts=tuple(mounts), environment=environment, run_as=run_as)


def _list(config: Mapping[str, Any], key: str) -> list[Any]:
    value = config.get(key) or []
    if not isinstance(value, list):
        raise AttachmentError(f"{key} must be a list")
    return value


async def _proxy_mount(
    runtime: _Runtime, name: str, environment: dict[str, str], uid: int | None
) -> BindMount:
    """Start (or find) the proxy, let the sandbox's host user in, and say where it is."""
    try:
        proxy = await runtime.proxies.ensure(name, uid)
    except resources.ResourceNotFound as exc:
        raise AttachmentError(f"dbProxies: {exc.detail}") from None
    except ValueError as exc:  # unreadable sealed target, bad URL, socket path too long
        raise AttachmentError(f"dbProxies: {name}: {exc}") from None
    inside = f"{DB_MOUNT_PARENT}/{name}"
    key = env_name(name)
    environment[f"STEPLINE_DB_{key}_HOST"] = inside
    environment[f"STEPLINE_DB_{key}_SOCKET"] = f"{inside}/stepline.sock"
    environment[f"STEPLINE_DB_{key}_URL"] = f"postgresql://stepline@/{name}?host={inside}"
    return BindMount(source=proxy.directory, target=inside, read_only=True)


async def _file_system_mount(
    runtime: _Runtime, config: Any, data_dir: Path, where: str
) -> tuple[BindMount, tuple[int, int] | None]:
    if not isinstance(config, Mapping) or not isinstance(config.get("fileSystem"), str):
        raise AttachmentError(f"{where} must be an object with 'fileSystem' (a file system name)")
    access_point_name = config.get("accessPoint")
    read_only = bool(config.get("readOnly", False))
    try:
        target = filesystems.mount_target(str(config.get("localMountPath", "")), where)
        async with runtime.sessions() as session:
            row = await resources.get_file_system(session, config["fileSystem"])
            access_point = (
                await resources.get_access_point(session, row.name, str(access_point_name))
                if access_point_name is not None
                else None
            )
        root = filesystems.file_system_path(data_dir, row.name, row.host_path)
        file_system = filesystems.open_file_system(root)
        if access_point is None:
            return BindMount(root, target, read_only, fd=file_system), None
        spec = filesystems.AccessPointSpec(
            access_point.root_directory, access_point.uid, access_point.gid, access_point.permissions
        )
        try:
            fd = filesystems.open_access_point(file_system, spec)
        finally:
            os.close(file_system)
    except resources.ResourceNotFound as exc:
        raise AttachmentError(f"{where}: {exc.detail}") from None
    except filesystems.FileSystemError as exc:
        raise AttachmentError(f"{where}: {exc}") from None
    source = root.resolve().joinpath(*filesystems.check_root_directory(spec.root_directory).parts[1:])
    return BindMount(source, target, read_only, fd=fd), (spec.uid, spec.gid)
