"""Use cases for db proxies, file systems and access points."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlmodel.ext.asyncio.session import AsyncSession

from api import resource_schemas as schemas
from foundation.errors import InvalidRequest
from foundation.registry import resources
from foundation.sealing import Sealer
from foundation.settings import Settings
from workers.attachments import DB_MOUNT_PARENT
from workers.dbproxy.server import Target, TargetError
from workers.filesystems import FileSystemError, check_host_path, check_root_directory, refused_ids


def _sealer(settings: Settings) -> Sealer:
    secret = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    return Sealer.from_settings(secret, settings.data_dir)


def _target(url: str) -> Target:
    """The proxy's target, or a 400 that never quotes the URL: its parser's words can hold part of
    the password (``postgresql://u:pa/ss@h`` reads ``pa`` as a port)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number from 0 to 65535)
    except ValueError as exc:
        reason = "an IPv6 host is not enclosed in [ ]"
        if "IPv6" not in str(exc):
            reason = "the port is not a number from 0 to 65535"
        detail = (
            f"targetUrl is not a valid URL: {reason} (characters such as / ? # @ : [ ] in the user "
            "name or password must be percent-encoded)"
        )
        raise InvalidRequest(detail, [{"location": "/targetUrl", "message": detail}]) from None
    try:
        return Target.from_url(url)
    except TargetError as exc:
        raise InvalidRequest(str(exc), [{"location": "/targetUrl", "message": str(exc)}]) from None


def _proxy_public(row: resources.DbProxy) -> schemas.DbProxyPublic:
    return schemas.DbProxyPublic(
        name=row.name,
        target=row.target_summary,
        pool_size=row.pool_size,
        borrow_timeout=row.borrow_timeout,
        idle_timeout=row.idle_timeout,
        socket_directory=f"{DB_MOUNT_PARENT}/{row.name}",
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def create_db_proxy(
    session: AsyncSession, settings: Settings, body: schemas.DbProxyCreate
) -> schemas.DbProxyPublic:
    target = _target(body.target_url)
    now = resources.utcnow()
    row = resources.DbProxy(
        name=body.name,
        target_sealed=_sealer(settings).seal(body.target_url),
        target_summary=target.describe(),
        pool_size=body.pool_size,
        borrow_timeout=body.borrow_timeout,
        idle_timeout=body.idle_timeout,
        created_at=now,
        updated_at=now,
    )
    return _proxy_public(await resources.add_db_proxy(session, row))


async def update_db_proxy(
    session: AsyncSession, settings: Settings, name: str, body: schemas.DbProxyUpdate
) -> schemas.DbProxyPublic:
    row = await resources.get_db_proxy(session, name)
    if body.target_url is not None:
        target = _target(body.target_url)
        row.target_sealed = _sealer(settings).seal(body.target_url)
        row.target_summary = target.describe()
    if body.pool_size is not None:
        row.pool_size = body.pool_size
    if body.borrow_timeout is not None:
        row.borrow_timeout = body.borrow_timeout
    if body.idle_timeout is not None:
        row.idle_timeout = body.idle_timeout
    row.updated_at = resources.utcnow()
    return _proxy_public(await resources.update_db_proxy(session, row))


async def list_db_proxies(session: AsyncSession) -> schemas.DbProxyList:
    return schemas.DbProxyList(
        db_proxies=[_proxy_public(r) for r in await resources.list_db_proxies(session)]
    )


async def describe_db_proxy(session: AsyncSession, name: str) -> schemas.DbProxyPublic:
    return _proxy_public(await resources.get_db_proxy(session, name))


async def delete_db_proxy(session: AsyncSession, name: str) -> None:
    await resources.delete_db_proxy(session, name)


def _fs_public(row: resources.FileSystem) -> schemas.FileSystemPublic:
    return schemas.FileSystemPublic(name=row.name, host_path=row.host_path, created_at=row.created_at)


async def create_file_system(
    session: AsyncSession, settings: Settings, body: schemas.FileSystemCreate
) -> schemas.FileSystemPublic:
    host_path = None
    if body.host_path is not None:
        try:
            host_path = str(check_host_path(body.host_path, settings.file_system_roots))
        except FileSystemError as exc:
            raise InvalidRequest(str(exc), [{"location": "/hostPath", "message": str(exc)}]) from None
    row = resources.FileSystem(name=body.name, host_path=host_path, created_at=resources.utcnow())
    return _fs_public(await resources.add_file_system(session, row))


async def list_file_systems(session: AsyncSession) -> schemas.FileSystemList:
    return schemas.FileSystemList(
        file_systems=[_fs_public(r) for r in await resources.list_file_systems(session)]
    )


async def describe_file_system(session: AsyncSession, name: str) -> schemas.FileSystemPublic:
    return _fs_public(await resources.get_file_system(session, name))


async def delete_file_system(session: AsyncSession, name: str) -> None:
    """Forget the file system (and its access points); its files stay on disk."""
    await resources.delete_file_system(session, name)


def _ap_public(row: resources.AccessPoint) -> schemas.AccessPointPublic:
    return schemas.AccessPointPublic(
        file_system=row.file_system_name,
        name=row.name,
        root_directory=row.root_directory,
        posix_user=schemas.PosixUser(uid=row.uid, gid=row.gid),
        permissions=f"{row.permissions:04o}",
        created_at=row.created_at,
    )


async def create_access_point(
    session: AsyncSession, file_system: str, body: schemas.AccessPointCreate
) -> schemas.AccessPointPublic:
    try:
        root = str(check_root_directory(body.root_directory))
    except FileSystemError as exc:
        raise InvalidRequest(str(exc), [{"location": "/rootDirectory", "message": str(exc)}]) from None
    if refused := refused_ids(body.posix_user.uid, body.posix_user.gid):
        problems = [
            {"location": f"/posixUser/{name}", "message": f"posixUser.{name} 0 (root) is refused"}
            for name in refused
        ]
        detail = " and ".join(f"posixUser.{name}" for name in refused)
        raise InvalidRequest(
            f"{detail} 0 (root) is refused: a function runs as its access point's user, and as host root it "
            "would own what root owns on the host; use an unprivileged uid and gid",
            problems,
        )
    row = resources.AccessPoint(
        file_system_name=file_system,
        name=body.name,
        root_directory=root,
        uid=body.posix_user.uid,
        gid=body.posix_user.gid,
        permissions=int(body.permissions, 8),
        created_at=resources.utcnow(),
    )
    return _ap_public(await resources.add_access_point(session, row))


async def list_access_points(session: AsyncSession, file_system: str) -> schemas.AccessPointList:
    rows = await resources.list_access_points(session, file_system)
    return schemas.AccessPointList(access_points=[_ap_public(r) for r in rows])


async def describe_access_point(
    session: AsyncSession, file_system: str, name: str
) -> schemas.AccessPointPublic:
    return _ap_public(await resources.get_access_point(session, file_system, name))


async def delete_access_point(session: AsyncSession, file_system: str, name: str) -> None:
    await resources.delete_access_point(session, file_system, name)
