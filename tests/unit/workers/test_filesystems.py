"""File system paths and access point roots: what is accepted, what is refused and why."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from workers.filesystems import (
    AccessPointSpec,
    FileSystemError,
    check_host_path,
    check_name,
    check_root_directory,
    file_system_path,
    mount_target,
    open_access_point,
    prepare_access_point,
    prepare_file_system,
    refused_ids,
)


@pytest.mark.parametrize("name", ["media", "Orders_2", "a-b"])
def test_names_accepted(name: str) -> None:
    assert check_name("file system", name) == name


@pytest.mark.parametrize("name", ["", "1abc", "a/b", "..", "a b", "x" * 65])
def test_names_refused(name: str) -> None:
    with pytest.raises(FileSystemError, match="must start with a letter"):
        check_name("file system", name)


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/mnt/data", True),
        ("/mnt/my-fs_1", True),
        ("/mnt", False),
        ("/mnt/a/b", False),
        ("/etc", False),
        ("/mnt/../etc", False),
        ("mnt/data", False),
    ],
)
def test_mount_target_is_exactly_mnt_name(path: str, ok: bool) -> None:
    if ok:
        assert mount_target(path, "fileSystemConfigs[0]") == path
    else:
        with pytest.raises(
            FileSystemError, match=r"fileSystemConfigs\[0\]\.localMountPath .* must be /mnt/<name>"
        ):
            mount_target(path, "fileSystemConfigs[0]")


@pytest.mark.parametrize("root", ["/", "/a", "/a/b/c"])
def test_root_directories_accepted(root: str) -> None:
    assert str(check_root_directory(root)) == root


@pytest.mark.parametrize("root", ["a", "/a/../b", "/.."])
def test_root_directories_refused(root: str) -> None:
    with pytest.raises(FileSystemError, match=r"must be absolute and must not contain '\.\.'"):
        check_root_directory(root)


def test_host_paths_must_be_under_an_allowed_root(tmp_path: Path) -> None:
    allowed = tmp_path / "shares"
    allowed.mkdir()
    assert check_host_path(str(allowed / "team"), [allowed]) == allowed / "team"
    with pytest.raises(FileSystemError, match="outside the allowed roots"):
        check_host_path(str(tmp_path / "elsewhere"), [allowed])
    with pytest.raises(FileSystemError, match=r"none \(set STEPLINE_FILE_SYSTEM_ROOTS\)"):
        check_host_path("/srv/data", [])
    with pytest.raises(FileSystemError, match="must be absolute"):
        check_host_path("relative/dir", [allowed])
    (allowed / "sneaky").symlink_to("/etc")
    with pytest.raises(FileSystemError, match="outside the allowed roots"):
        check_host_path(str(allowed / "sneaky"), [allowed])


def test_file_system_lives_under_the_data_directory_unless_a_host_path_is_given(tmp_path: Path) -> None:
    assert file_system_path(tmp_path, "media", None) == tmp_path.resolve() / "fs" / "media"
    assert file_system_path(tmp_path, "media", "/srv/media") == Path("/srv/media")
    root = prepare_file_system(file_system_path(tmp_path, "media", None))
    assert root.is_dir() and root.stat().st_mode & 0o777 == 0o777


def test_access_point_root_is_created_with_owner_and_mode(tmp_path: Path) -> None:
    root = prepare_access_point(
        tmp_path, AccessPointSpec("/tenants/a", uid=1234, gid=2345, permissions=0o750)
    )
    assert root == tmp_path.resolve() / "tenants" / "a"
    info = root.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (1234, 2345, 0o750)
    os.chmod(root, 0o700)
    prepare_access_point(tmp_path, AccessPointSpec("/tenants/a", uid=1234, gid=2345, permissions=0o777))
    assert root.stat().st_mode & 0o777 == 0o700  # an existing root is left as it is
    assert (tmp_path / "tenants").stat().st_mode & 0o7777 == 0o755
    with pytest.raises(FileSystemError, match="belongs to uid 1234, not to the access point's uid 1"):
        prepare_access_point(tmp_path, AccessPointSpec("/tenants/a", uid=1, gid=1))


def test_access_point_refuses_a_root_redirected_by_a_symlink(tmp_path: Path) -> None:
    fs = tmp_path / "fs"
    fs.mkdir()
    (fs / "planted").symlink_to(tmp_path)  # e.g. made by a function with the whole file system mounted
    with pytest.raises(FileSystemError, match="'/planted' is a symbolic link"):
        prepare_access_point(fs, AccessPointSpec("/planted", uid=1, gid=1))
    with pytest.raises(FileSystemError, match="'/planted' is a symbolic link"):
        prepare_access_point(fs, AccessPointSpec("/planted/deeper", uid=1, gid=1))
    assert not (tmp_path / "deeper").exists()


def test_no_symbolic_link_is_followed_even_one_staying_inside(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to("real")
    with pytest.raises(FileSystemError, match="'/alias' is a symbolic link"):
        prepare_access_point(tmp_path, AccessPointSpec("/alias/a", uid=1234, gid=1234))
    (tmp_path / "file").write_text("")
    with pytest.raises(FileSystemError, match="'/file' is a symbolic link or not a directory"):
        prepare_access_point(tmp_path, AccessPointSpec("/file/a", uid=1234, gid=1234))
    assert os.listdir(tmp_path / "real") == []


def test_parents_are_the_workers_and_only_it_can_rename_in_them(tmp_path: Path) -> None:
    """A root made with a restrictive umask is still reachable; its parents are the worker's, 0755."""
    previous = os.umask(0o077)
    try:
        spec = AccessPointSpec("/a/b/c", uid=1234, gid=2345, permissions=0o750)
        root = prepare_access_point(tmp_path, spec)
    finally:
        os.umask(previous)
    for parent in (tmp_path / "a", tmp_path / "a" / "b"):
        assert (parent.stat().st_uid, parent.stat().st_mode & 0o7777) == (os.geteuid(), 0o755)
    assert root.stat().st_mode & 0o7777 == 0o750


@pytest.mark.parametrize(
    ("owner", "mode", "refusal"),
    [
        (4321, 0o755, "'/shared' belongs to uid 4321, which could replace what is in it"),
        (0, 0o777, "'/shared' is writable by other users without the sticky bit"),
        (0, 0o775, "'/shared' is writable by other users without the sticky bit"),
        (0, 0o1777, None),
        (1234, 0o755, None),  # the access point's own user
    ],
    ids=["other-owner", "world-writable", "group-writable", "sticky", "access-point-user"],
)
def test_a_parent_another_user_could_rename_in_is_refused(
    tmp_path: Path, owner: int, mode: int, refusal: str | None
) -> None:
    parent = tmp_path / "shared"
    parent.mkdir()
    os.chown(parent, owner, owner)
    parent.chmod(mode)
    spec = AccessPointSpec("/shared/a", uid=1234, gid=1234)
    if refusal is None:
        assert prepare_access_point(tmp_path, spec).stat().st_uid == 1234
    else:
        with pytest.raises(FileSystemError, match=refusal):
            prepare_access_point(tmp_path, spec)
        assert not (parent / "a").exists()


def test_a_root_planted_by_another_user_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    os.chown(tmp_path / "a", 993, 990)
    with pytest.raises(FileSystemError, match="belongs to uid 993, not to the access point's uid 1234"):
        prepare_access_point(tmp_path, AccessPointSpec("/a", uid=1234, gid=1234))


@pytest.mark.parametrize(("uid", "gid", "field"), [(0, 5, "uid"), (5, 0, "gid"), (0, 0, "uid")])
def test_root_is_never_an_access_points_user(tmp_path: Path, uid: int, gid: int, field: str) -> None:
    assert field in refused_ids(uid, gid)
    with pytest.raises(FileSystemError, match=rf"posixUser\.{field} 0 \(root\) is refused"):
        prepare_access_point(tmp_path, AccessPointSpec("/a", uid=uid, gid=gid))
    assert not (tmp_path / "a").exists()
    assert refused_ids(1, 1) == []


@pytest.mark.parametrize(
    ("before", "after"), [(0o777, 0o1777), (0o775, 0o1775), (0o755, 0o755), (0o1777, 0o1777)]
)
def test_a_file_system_writable_by_others_becomes_sticky(tmp_path: Path, before: int, after: int) -> None:
    path = tmp_path / "fs"
    path.mkdir()
    path.chmod(before)
    prepare_file_system(path)
    assert path.stat().st_mode & 0o7777 == after


def test_the_root_descriptor_is_the_directory_and_not_a_path(tmp_path: Path) -> None:
    """What ``open_access_point`` returns stays the root when its path is renamed and replaced."""
    fs = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        fd = open_access_point(fs, AccessPointSpec("/a", uid=1234, gid=1234))
    finally:
        os.close(fs)
    try:
        os.rename(tmp_path / "a", tmp_path / "moved")
        (tmp_path / "a").symlink_to("/etc")
        assert os.fstat(fd).st_ino == (tmp_path / "moved").stat().st_ino
    finally:
        os.close(fd)


def _open_in_a_process(fs: str, start: float) -> tuple[int, int]:
    while time.time() < start:  # every process at once
        pass
    spec = AccessPointSpec("/x/y", uid=1234, gid=2345, permissions=0o750)
    made = prepare_access_point(Path(fs), spec).stat()
    return made.st_uid, made.st_mode & 0o7777


def test_workers_making_the_same_root_at_once_all_get_it_whole(tmp_path: Path) -> None:
    """No worker finds a root (or a parent) another one is still making: it appears finished."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as processes:
        list(processes.map(_open_in_a_process, [str(tmp_path)] * 2, [0.0] * 2))  # both started
        for attempt in range(50):
            fs = tmp_path / f"fs{attempt}"
            fs.mkdir()
            start = time.time() + 0.02
            results = list(processes.map(_open_in_a_process, [str(fs)] * 2, [start] * 2))
            assert results == [(1234, 0o750)] * 2
            assert os.listdir(fs) == ["x"] and os.listdir(fs / "x") == ["y"]
