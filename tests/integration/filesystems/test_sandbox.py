"""Shared file systems bound into real bubblewrap sandboxes (plain processes, as functions run)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from workers.filesystems import AccessPointSpec, file_system_path, prepare_access_point, prepare_file_system
from workers.mounts import BindMount

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

BASE = ["--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"]
BASE += ["--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]


async def sandboxed(code: str, mounts: Sequence[BindMount], run_as: tuple[int, int] | None = None) -> str:
    """Run ``code`` with the system Python in a sandbox with ``mounts``; its stdout (fails on error)."""
    args = ["bwrap", *BASE, "--unshare-all", "--die-with-parent"]
    for mount in mounts:
        args += ["--ro-bind" if mount.read_only else "--bind", str(mount.source), mount.target]
    identity = {"user": run_as[0], "group": run_as[1], "extra_groups": []} if run_as else {}
    process = await asyncio.create_subprocess_exec(
        *args,
        "/usr/bin/python3",
        "-c",
        code,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        **identity,  # type: ignore[arg-type]
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


@pytest.fixture(autouse=True)
def needs_bwrap() -> None:
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap (bwrap) is required")


@pytest.fixture
def fs_root() -> Iterator[Path]:
    """A file system in a data directory that sandboxed users may traverse (pytest's tmp is 0700)."""
    data_dir = Path(tempfile.mkdtemp(prefix="sl-fs-"))
    data_dir.chmod(0o755)
    yield prepare_file_system(file_system_path(data_dir, "shared", None))
    shutil.rmtree(data_dir, ignore_errors=True)


APPEND = """
import fcntl, os, sys
with open('/mnt/shared/log.txt', 'a') as f:
    for i in range(20):
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write('writer %s line %02d ' % (sys.argv[1] if len(sys.argv) > 1 else WRITER, i))
        f.flush()
        f.write('end\\n')
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)
"""


async def test_100_concurrent_writers_with_flock_lose_no_line(fs_root: Path) -> None:
    mount = BindMount(fs_root, "/mnt/shared", read_only=False)
    semaphore = asyncio.Semaphore(100)

    async def writer(n: int) -> None:
        async with semaphore:
            await sandboxed(f"WRITER = {n}\n" + APPEND, [mount], run_as=(1000, 1000))

    await asyncio.gather(*(writer(n) for n in range(100)))
    lines = (fs_root / "log.txt").read_text().splitlines()
    assert sorted(lines) == sorted(f"writer {n} line {i:02d} end" for n in range(100) for i in range(20))


async def test_two_functions_share_data_through_one_file_system(fs_root: Path) -> None:
    await sandboxed(
        "open('/mnt/orders/note.txt', 'w').write('from A')", [BindMount(fs_root, "/mnt/orders", False)]
    )
    seen = await sandboxed(
        "print(open('/mnt/archive/note.txt').read())", [BindMount(fs_root, "/mnt/archive")]
    )
    assert seen.strip() == "from A"


async def test_read_only_mount_refuses_writes(fs_root: Path) -> None:
    (fs_root / "data.txt").write_text("kept")
    code = """
import errno
try:
    open('/mnt/shared/data.txt', 'w')
except OSError as e:
    print(errno.errorcode[e.errno])
print(open('/mnt/shared/data.txt').read())
"""
    assert (await sandboxed(code, [BindMount(fs_root, "/mnt/shared", read_only=True)])).split() == [
        "EROFS",
        "kept",
    ]
    assert (fs_root / "data.txt").read_text() == "kept"


async def test_access_point_confines_to_its_root_and_creates_files_as_its_user(fs_root: Path) -> None:
    (fs_root / "secret.txt").write_text("parent only")
    spec = AccessPointSpec("/tenants/a", uid=4321, gid=5432, permissions=0o750)
    root = prepare_access_point(fs_root, spec)
    assert (root.stat().st_uid, root.stat().st_gid, root.stat().st_mode & 0o777) == (4321, 5432, 0o750)
    code = """
import os
open('/mnt/a/made.txt', 'w').write('x')
os.symlink('..', '/mnt/a/up')
print(sorted(os.listdir('/mnt')), sorted(os.listdir('/mnt/a/up')), os.path.exists('/mnt/a/../secret.txt'))
"""
    out = await sandboxed(code, [BindMount(root, "/mnt/a", read_only=False)], run_as=(4321, 5432))
    assert out.strip() == "['a'] ['a'] False"
    made = (root / "made.txt").stat()
    assert (made.st_uid, made.st_gid) == (4321, 5432)


async def test_other_users_cannot_enter_an_access_point_root(fs_root: Path) -> None:
    root = prepare_access_point(fs_root, AccessPointSpec("/private", uid=4321, gid=5432, permissions=0o700))
    code = """
try:
    open('/mnt/fs/private/x', 'w')
    print('written')
except PermissionError:
    print('denied')
"""
    out = await sandboxed(code, [BindMount(fs_root, "/mnt/fs", read_only=False)], run_as=(999, 999))
    assert out.strip() == "denied"
    assert not (root / "x").exists()
