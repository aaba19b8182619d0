"""File system paths and access point roots: what is accepted, what is refused and why."""

from __future__ import annotations

import os
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
    prepare_access_point,
    prepare_file_system,
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
    prepare_access_point(tmp_path, AccessPointSpec("/tenants/a", uid=1, gid=1, permissions=0o777))
    assert root.stat().st_mode & 0o777 == 0o700  # an existing root is left as it is


def test_access_point_refuses_a_root_redirected_by_a_symlink(tmp_path: Path) -> None:
    fs = tmp_path / "fs"
    fs.mkdir()
    (fs / "planted").symlink_to(tmp_path)  # e.g. made by a function with the whole file system mounted
    with pytest.raises(FileSystemError, match="leaves its file system"):
        prepare_access_point(fs, AccessPointSpec("/planted", uid=1, gid=1))
    with pytest.raises(FileSystemError, match="leaves its file system"):
        prepare_access_point(fs, AccessPointSpec("/planted/deeper", uid=1, gid=1))
    assert not (tmp_path / "deeper").exists()
