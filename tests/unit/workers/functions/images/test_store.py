"""Importing archives into the image store: both docker save forms and OCI layouts, compression,
platforms, verified digests, shared layers, and the hostile layers a tenant could send."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests import image_builder as build
from workers.functions.images.sources import InvalidImage
from workers.functions.images.store import ImageStore

BASE = build.layer_tar([
    build.directory("etc"), build.file("etc/os-release", "base"), build.directory("data"),
    build.file("data/keep", "keep"), build.file("data/gone", "gone"), build.directory("opq"),
    build.file("opq/old", "old"), build.directory("opq/sub"), build.file("opq/sub/deep", "deep"),
    build.file("bin-setuid", "x", 0o4755), build.symlink("link", "/etc/os-release"),
    build.hardlink("data/keep-too", "data/keep"),
])  # fmt: skip
TOP = build.layer_tar([
    build.file("data/.wh.gone", ""), build.file("opq/new", "new"), build.file("opq/.wh..wh..opq", ""),
    build.file("etc/os-release", "top"),
])  # fmt: skip
IMAGE = build.Image(
    [BASE, TOP], {"Cmd": ["/bin/true"], "WorkingDir": "/data", "Env": ["A=1"]}, ("gzip", "zstd")
)


def write(kind: str, image: build.Image, tmp_path: Path, name: str = "repo:tag") -> Path:
    if kind == "oci-directory":
        return build.write_directory(build.layout_files(image, name), tmp_path / "layout")
    if kind == "oci-tar":
        return build.write_tar(build.layout_files(image, name), tmp_path / "oci.tar")
    if kind == "docker-legacy":
        return build.write_tar(build.docker_save_files(image, name), tmp_path / "docker.tar")
    return build.write_tar(build.docker_oci_save_files(image, name), tmp_path / "docker-oci.tar")


@pytest.mark.parametrize("kind", ["oci-directory", "oci-tar", "docker-legacy", "docker-oci"])
def test_each_archive_form_gives_the_same_root_file_system(kind: str, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    imported = store.import_archive(write(kind, IMAGE, tmp_path))
    root = store.rootfs(imported.digest)
    assert (root / "etc/os-release").read_text() == "top"
    assert (root / "data/keep").read_text() == "keep" and not (root / "data/gone").exists()
    assert sorted(os.listdir(root / "opq")) == ["new"]  # opaque: lower content gone, this layer's kept
    assert os.readlink(root / "link") == "/etc/os-release"
    assert (root / "data/keep-too").stat().st_ino == (root / "data/keep").stat().st_ino
    assert stat.S_IMODE((root / "bin-setuid").stat().st_mode) == 0o755  # setuid dropped
    assert (root / "proc").is_dir() and (root / "run/lambda").is_dir() and (root / "var/rapid/usr").is_dir()
    assert "repo:tag" in imported.references
    run = store.image_run(imported.digest, {})
    assert (
        run.command == ("/bin/true",)
        and run.working_directory == "/data"
        and run.environment == (("A", "1"),)
    )


def test_layers_are_stored_once_and_shared(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    first = store.import_archive(write("oci-tar", IMAGE, tmp_path))
    other = build.Image([BASE], {"Cmd": ["/bin/sh"]}, ("gzip",))
    (tmp_path / "second").mkdir()
    second = store.import_archive(write("oci-tar", other, tmp_path / "second"))
    assert first.layers[0] == second.layers[0] and first.digest != second.digest
    blobs = os.listdir(tmp_path / "store/blobs/sha256")
    assert len(blobs) == 2 + 2 + 2  # two manifests, two configurations, the shared layer and TOP


def test_the_host_platform_is_chosen_from_an_index(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    imported = store.import_archive(write("oci-tar", IMAGE, tmp_path))
    assert not (store.rootfs(imported.digest) / "arm").exists()


def test_an_image_for_another_architecture_is_refused(tmp_path: Path) -> None:
    arm = build.Image([BASE], architecture="arm64")
    with pytest.raises(InvalidImage, match="linux/arm64, not linux/amd64"):
        ImageStore(tmp_path / "store").import_archive(write("docker-legacy", arm, tmp_path))


def test_a_blob_that_does_not_match_its_digest_is_refused(tmp_path: Path) -> None:
    files = build.layout_files(IMAGE, "repo:tag", with_index=False)
    layer = next(name for name, data in files.items() if data == IMAGE.blobs()[0][1])
    files[layer] = build.compress(build.layer_tar([build.file("evil", "evil")]), "gzip")
    with pytest.raises(InvalidImage, match="does not match its digest"):
        ImageStore(tmp_path / "store").import_archive(build.write_tar(files, tmp_path / "x.tar"))


def test_a_layer_that_does_not_match_its_diff_id_is_refused(tmp_path: Path) -> None:
    files = build.docker_save_files(IMAGE, "repo:tag")
    files["0000000000000000000000000000000000000000000000000000000000000001/layer.tar"] = build.layer_tar(
        [build.file("swapped", "x")]
    )
    with pytest.raises(InvalidImage, match="diff_id"):
        ImageStore(tmp_path / "store").import_archive(build.write_tar(files, tmp_path / "x.tar"))


HOSTILE = {
    "parent-path": ([build.file("../escape", "x")], "points outside the image"),
    "absolute-path": ([build.file("/etc/evil", "x")], "absolute path"),
    "through-absolute-symlink": (
        [build.symlink("out", "/tmp"), build.file("out/evil", "x")],
        "passes through the symbolic link 'out'",
    ),
    "through-relative-symlink": (
        [build.symlink("up", "../../../.."), build.file("up/evil", "x")],
        "passes through the symbolic link",
    ),
    "device-node": ([build.device("dev-null")], "is a device node"),
    "fifo": ([build.Entry("pipe", kind=b"6")], "is a FIFO"),
    "hardlink-out": ([build.hardlink("shadow", "../../etc/shadow")], "points outside the image"),
    "hardlink-through-symlink": (
        [build.symlink("etc", "/etc"), build.hardlink("shadow", "etc/shadow")],
        "passes through the symbolic link",
    ),
}


@pytest.mark.parametrize("entries, message", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_layers_are_refused_and_nothing_stays(
    entries: list[build.Entry], message: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store = ImageStore(tmp_path / "deep/down/store")
    image = build.Image([build.layer_tar(entries)])
    with pytest.raises(InvalidImage, match=message):
        store.import_archive(write("docker-legacy", image, tmp_path))
    assert not list((tmp_path / "deep/down/store/rootfs").iterdir())
    assert [p.name for p in (tmp_path / "deep/down/store/blobs/sha256").iterdir()] == []
    assert not list(outside.iterdir()) and not (tmp_path / "escape").exists()


def test_archive_names_leaving_the_archive_are_refused(tmp_path: Path) -> None:
    files = build.docker_save_files(IMAGE, "repo:tag")
    doc = json.loads(files["manifest.json"])
    doc[0]["Layers"][0] = "../../etc/passwd"
    files["manifest.json"] = json.dumps(doc).encode()
    with pytest.raises(InvalidImage, match="outside itself"):
        ImageStore(tmp_path / "store").import_archive(build.write_tar(files, tmp_path / "x.tar"))


def test_an_archive_with_two_images_needs_a_name(tmp_path: Path) -> None:
    files = build.docker_save_files(IMAGE, "one:1")
    other = build.docker_save_files(build.Image([BASE]), "two:2")
    doc = json.loads(files["manifest.json"]) + json.loads(other.pop("manifest.json"))
    files |= other | {"manifest.json": json.dumps(doc).encode()}
    path = build.write_tar(files, tmp_path / "x.tar")
    with pytest.raises(InvalidImage, match="holds 2 images"):
        ImageStore(tmp_path / "store").import_archive(path)
    assert ImageStore(tmp_path / "store").import_archive(path, "two:2").references == ("two:2",)


def test_not_an_image_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidImage, match="not a tar"):
        ImageStore(tmp_path / "store").import_archive(build.write_directory({"x": b"x"}, tmp_path) / "x")
