"""Hostile tenants on a shared file system: swapping, renaming and planting paths to get another
tenant's (or the host's) directory mounted, or to make the worker chmod/chown a host directory.

Every attack runs in real sandboxes, in both ways sandboxes run: as unprivileged host users (the
worker is root and the data directory is traversable: ``setpriv``) and as root mapped into a user
namespace (host uid 0 without capabilities: the data directory is private to root).
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from foundation.registry import resources
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from tests.integration.function_kit import body, call, deploy, requires_bwrap, unique
from workers.attachments import serve_attachments
from workers.functions.errors import InvalidParameterError, ServiceError
from workers.functions.service import FunctionService

pytestmark = [requires_bwrap]

CODE = """
import os, time

def swap(event, context):
    '''Swap the victim's root between the real directory and a symlink to the host, for a while.'''
    fs, host, end = '/mnt/fs', event['host'], time.time() + event['seconds']
    victim, kept = fs + '/victim', fs + '/kept'
    swaps = errors = 0
    while time.time() < end:
        try:
            os.rename(victim, kept)
            os.symlink(host, victim)
            time.sleep(0.0005)
            os.unlink(victim)
            os.rename(kept, victim)
            swaps += 1
        except OSError as e:
            errors += 1
            last = e.strerror
        time.sleep(0.0005)
    return {'swaps': swaps, 'errors': errors}

def grab(event, context):
    '''Take each root the worker makes away at once and put a link to the host in its place.'''
    fs, end = '/mnt/fs', time.time() + event['seconds']
    victim, grabbed = fs + '/' + event['root'], 0
    while time.time() < end:
        try:
            os.rename(victim, fs + '/trash%d' % grabbed)  # the directory the worker just made...
        except OSError:
            continue
        grabbed += 1
        try:
            os.symlink(event['host'], victim)  # ... is a link by the time it is given its owner and mode
            time.sleep(0.002)
            os.unlink(victim)  # and gone again: the next cold start makes it anew
        except OSError:
            pass
    return grabbed

def replace(event, context):
    '''Move the victim's root away and put a directory of ours (or a link to it) in its place.'''
    fs = '/mnt/fs'
    done = []
    os.makedirs(fs + '/decoy', exist_ok=True)
    os.chmod(fs + '/decoy', 0o777)
    open(fs + '/decoy/planted.txt', 'w').write('from the attacker')
    for step, act in (
        ('rename', lambda: os.rename(fs + '/' + event['root'], fs + '/stolen')),
        ('plant', lambda: (os.symlink('decoy', fs + '/' + event['root']) if event['link']
                           else os.mkdir(fs + '/' + event['root'], 0o777))),
    ):
        try:
            act()
            done.append(step)
        except OSError as e:
            done.append(step + ': ' + e.strerror)
    if not event['link']:
        try:
            os.chmod(fs + '/' + event['root'], 0o777)
            open(fs + '/' + event['root'] + '/planted.txt', 'w').write('from the attacker')
        except OSError:
            pass
    return done

def squat(event, context):
    '''Make a directory where an access point's root will be created on its first use.'''
    path = '/mnt/fs/' + event['root']
    os.mkdir(path)
    os.chmod(path, 0o777)
    open(path + '/planted.txt', 'w').write('from the attacker')
    return os.stat(path).st_uid

def victim(event, context):
    '''What the access point shows, and a write of the tenant's own secret into it.'''
    out = {'entries': sorted(os.listdir('/mnt/data'))}
    fds = os.listdir('/proc/self/fd')
    out['dir_fds'] = [os.readlink('/proc/self/fd/' + n) for n in fds if os.path.isdir('/proc/self/fd/' + n)]
    try:
        with open('/mnt/data/' + event['write'], 'w') as f:
            f.write('tenant secret')
        out['wrote'] = True
    except OSError as e:
        out['wrote'] = e.strerror
    return out
"""

VICTIM = {"uid": 2101, "gid": 2101}


@dataclass
class Setup:
    service: FunctionService
    fs: str
    root: Path
    """The file system's directory on the host."""
    permissions: int
    """Of the access points' roots: 0700 for unprivileged sandboxes; 0777 for root-mapped ones, which
    are host uid 0 without capabilities: "others" to a root owned by the access point's uid."""


@pytest.fixture
def host_dir() -> Iterator[Path]:
    """A host directory no tenant may see, like /etc: root's, 0755, a world-readable secret in it."""
    path = Path(tempfile.mkdtemp(prefix="sl-host-"))
    path.chmod(0o755)
    (path / "secret.txt").write_text("host secret")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=["unprivileged", "root-mapped"])
def data_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    """Sandboxes run as unprivileged host users, or as root mapped into a user namespace when the
    data directory is one only root can traverse (``can_drop_root`` is false)."""
    path = Path(tempfile.mkdtemp(prefix="sl-sec-fs-")).resolve()
    path.chmod(0o755 if request.param == "unprivileged" else 0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def setup(data_dir: Path, database_url: str) -> AsyncIterator[Setup]:
    """The function runtime with attachments served, and one file system."""
    unprivileged = stat.S_IMODE(data_dir.stat().st_mode) == 0o755  # noqa: ASYNC240
    settings = Settings(
        database_url=SecretStr(database_url), data_dir=data_dir, secret_key=SecretStr("t"),
        sandbox={"max_environments": 40},
    )  # fmt: skip
    async with (
        FunctionService(settings, config_cache_seconds=0.0) as svc,
        serve_attachments(settings, svc.sessions),
    ):
        assert svc.pool._unprivileged is unprivileged
        fs = unique("fs")
        async with unit_of_work(svc.sessions) as session:
            row = resources.FileSystem(name=fs, created_at=resources.utcnow())
            await resources.add_file_system(session, row)
        yield Setup(svc, fs, data_dir / "fs" / fs, 0o700 if unprivileged else 0o777)


async def add_access_point(setup: Setup, name: str, root: str) -> None:
    row = resources.AccessPoint(
        file_system_name=setup.fs, name=name, root_directory=root, permissions=setup.permissions,
        created_at=resources.utcnow(), **VICTIM,
    )  # fmt: skip
    async with unit_of_work(setup.service.sessions) as session:
        await resources.add_access_point(session, row)


async def deploy_whole(setup: Setup, handler: str) -> str:
    """A function with the whole file system mounted read-write at /mnt/fs (no access point)."""
    config = [{"fileSystem": setup.fs, "localMountPath": "/mnt/fs"}]
    return await deploy(setup.service, unique("attacker"), {"app.py": CODE}, handler=f"app.{handler}",
                        timeout=60, file_system_configs=config)  # fmt: skip


async def deploy_victim(setup: Setup, access_point: str) -> str:
    """A new function on the access point: its first call is a cold start, which mounts the root."""
    config = [{"fileSystem": setup.fs, "accessPoint": access_point, "localMountPath": "/mnt/data"}]
    return await deploy(setup.service, unique("victim"), {"app.py": CODE}, handler="app.victim",
                        file_system_configs=config)  # fmt: skip


async def cold_start(setup: Setup, access_point: str, write: str) -> dict[str, Any] | str:
    """The victim's view (entries, whether it wrote), or why its sandbox was refused."""
    name = await deploy_victim(setup, access_point)
    try:
        result = await call(setup.service, name, {"write": write})
    except InvalidParameterError as exc:
        return f"refused: {exc}"
    except ServiceError as exc:
        return f"failed: {exc}"
    if result.function_error is not None:  # e.g. bubblewrap could not find what it was told to bind
        return f"failed: {result.payload!r}\n{base64.b64decode(result.log_result).decode(errors='replace')}"
    seen: dict[str, Any] = body(result)
    return seen


def snapshot(path: Path) -> tuple[int, int, int, list[str]]:
    info = path.stat()
    return info.st_uid, info.st_gid, info.st_mode, sorted(os.listdir(path))


async def test_the_bound_descriptor_does_not_reach_the_function(setup: Setup) -> None:
    """Item 2: the directory's descriptor passed to bubblewrap is closed once bound: in the
    function, ``openat(fd, "..")`` would climb out of the access point."""
    await add_access_point(setup, "victim", "/victim")
    view = await cold_start(setup, "victim", "own.txt")
    assert isinstance(view, dict) and view["wrote"] is True, view
    assert [path for path in view["dir_fds"] if not path.startswith("/proc/")] == []


async def test_a_root_swapped_for_a_symlink_during_cold_starts_never_mounts_or_chmods_the_host(
    setup: Setup, host_dir: Path
) -> None:
    """Item 2: check, then mount. An attacker with the whole file system swaps the victim's root
    for a symlink to a host directory and back, as fast as it can, while victims cold-start."""
    await add_access_point(setup, "victim", "/victim")
    first = await cold_start(setup, "victim", "own.txt")  # the root exists, made by the worker
    assert isinstance(first, dict) and first["wrote"] is True, first
    before = snapshot(host_dir)
    attacker = await deploy_whole(setup, "swap")
    swapping = asyncio.create_task(call(setup.service, attacker, {"host": str(host_dir), "seconds": 8}))
    await asyncio.sleep(0.5)
    views: list[dict[str, Any] | str] = []
    while not swapping.done():
        views += await asyncio.gather(*(cold_start(setup, "victim", f"v{len(views) + i}") for i in range(4)))
    swapped = await swapping
    assert swapped.function_error is None, swapped.payload
    leaked = [v for v in views if isinstance(v, dict) and "secret.txt" in v["entries"]]
    failed = sum(isinstance(v, str) for v in views)
    print(f"{len(views)} cold starts ({failed} failed), attacker {body(swapped)}, host mounted {len(leaked)}")
    assert leaked == []
    assert snapshot(host_dir) == before  # neither chmod/chown nor a file written through a link
    own = {"own.txt", *(f"v{i}" for i in range(len(views)))}
    for view in views:  # each mounted the tenant's own root, or was refused, or bubblewrap gave up
        if isinstance(view, dict):  # the root, or a fresh one the worker made while the attacker
            # had it moved away (an access point's root is created when missing): only own files
            assert set(view["entries"]) <= own, view
        elif view.startswith("refused:"):  # the walk met the link, or a directory swapped in
            assert "access point root '/victim'" in view, view
        else:  # the root was being renamed as bubblewrap bound it (bubblewrap binds the descriptor's
            # path, then checks that it bound the descriptor's directory): never in unprivileged
            # sandboxes, where the attacker cannot rename another user's root at all
            assert not setup.service.pool._unprivileged, view
            assert "\nbwrap: " in view, view


async def test_the_worker_never_gives_a_host_directory_to_an_access_points_user(
    setup: Setup, host_dir: Path
) -> None:
    """Item 2: create, then chown/chmod. An attacker with the whole file system takes away each root
    the worker creates and puts a link to a host directory in its place, hoping the worker's
    chown/chmod of the new root follow it."""
    await add_access_point(setup, "grabbed", "/grabbed")
    before = snapshot(host_dir)
    attacker = await deploy_whole(setup, "grab")
    event = {"host": str(host_dir), "root": "grabbed", "seconds": 6}
    grabbing = asyncio.create_task(call(setup.service, attacker, event))
    await asyncio.sleep(0.5)
    views: list[dict[str, Any] | str] = []
    while not grabbing.done():
        views += await asyncio.gather(*(cold_start(setup, "grabbed", f"v{len(views) + i}") for i in range(4)))
    grabbed = await grabbing
    assert grabbed.function_error is None, grabbed.payload
    after = snapshot(host_dir)
    print(f"{len(views)} cold starts, {body(grabbed)} roots taken away, host directory {before} -> {after}")
    assert after == before
    assert not [v for v in views if isinstance(v, dict) and "secret.txt" in v["entries"]]


@pytest.mark.parametrize("link", [True, False], ids=["symlink", "directory"])
async def test_a_tenant_cannot_replace_another_tenants_access_point_root(setup: Setup, link: bool) -> None:
    """Item 8: the attacker renames the victim's root away and plants a link to, or a directory of,
    its own: the victim's next cold start must not mount the attacker's directory."""
    await add_access_point(setup, "victim", "/victim")
    first = await cold_start(setup, "victim", "own.txt")
    assert isinstance(first, dict) and first["wrote"] is True, first
    attacker = await deploy_whole(setup, "replace")
    done = body(await call(setup.service, attacker, {"root": "victim", "link": link}))
    after = await cold_start(setup, "victim", "second.txt")
    print(f"attacker: {done}; victim: {after}")
    assert not (setup.root / "decoy" / "second.txt").exists()
    if isinstance(after, dict):
        assert after["entries"] == ["own.txt"] and after["wrote"] is True
        assert (setup.root / "victim" / "second.txt").exists()
    else:
        assert "victim" in after  # refused, naming the access point's root
    if setup.service.pool._unprivileged:  # other users' entries in the shared root are theirs only
        assert done[0] == "rename: Operation not permitted" and isinstance(after, dict)


async def test_an_access_point_root_planted_before_its_first_use_is_refused(setup: Setup) -> None:
    """Item 8: a directory made by another tenant where an access point's root will be created is
    not taken for it (the victim would write its data into the attacker's directory)."""
    attacker = await deploy_whole(setup, "squat")
    result = await call(setup.service, attacker, {"root": "early"})
    assert result.function_error is None, result.payload
    await add_access_point(setup, "early", "/early")
    view = await cold_start(setup, "early", "mine.txt")
    assert isinstance(view, str) and "early" in view and "belongs to uid" in view, view
    assert not (setup.root / "early" / "mine.txt").exists()


async def test_a_tenant_cannot_replace_a_parent_of_an_access_point_root(setup: Setup) -> None:
    """Item 8: the parents of a root are the worker's and not writable by tenants: an attacker can
    neither rename them nor create a sibling root ahead of its access point."""
    await add_access_point(setup, "deep", "/tenants/deep")
    first = await cold_start(setup, "deep", "own.txt")
    assert isinstance(first, dict) and first["wrote"] is True, first
    parent = (setup.root / "tenants").stat()
    assert (parent.st_uid, parent.st_mode & 0o7777) == (0, 0o755)
    attacker = await deploy_whole(setup, "replace")
    done = body(await call(setup.service, attacker, {"root": "tenants", "link": True}))
    after = await cold_start(setup, "deep", "second.txt")
    print(f"attacker: {done}; victim: {after}")
    assert not (setup.root / "decoy" / "deep").exists()
    if isinstance(after, dict):
        assert after["entries"] == ["own.txt"] and after["wrote"] is True
    else:
        assert "tenants" in after


async def test_a_world_writable_file_system_root_becomes_sticky(setup: Setup) -> None:
    """Item 8: world-writable so that functions share it, and sticky so that each can rename or
    remove only its own entries (never another tenant's access point root), also when it was made
    world-writable without the sticky bit (by an earlier version, or by the operator)."""
    setup.root.mkdir(parents=True)
    setup.root.chmod(0o777)
    attacker = await deploy_whole(setup, "squat")
    result = await call(setup.service, attacker, {"root": "mine"})
    assert result.function_error is None, result.payload
    assert stat.S_IMODE(setup.root.stat().st_mode) == 0o1777


@pytest.mark.parametrize("field", ["uid", "gid"])
async def test_an_access_point_user_cannot_be_root(api: httpx.AsyncClient, field: str) -> None:
    """Item 2: a function running as host uid 0 owns what root owns on the host."""
    fs = unique("fs")
    assert (await api.post("/v1/file-systems", json={"name": fs})).status_code == 201
    user = {"uid": 1001, "gid": 1002, field: 0}
    created = await api.post(
        f"/v1/file-systems/{fs}/access-points", json={"name": "ap", "rootDirectory": "/a", "posixUser": user}
    )
    assert created.status_code == 400, created.text
    problem = created.json()
    assert f"posixUser.{field}" in problem["detail"] and "root" in problem["detail"]
    assert (await api.get(f"/v1/file-systems/{fs}/access-points/ap")).status_code == 404
