"""Scans of the file-system event source on hostile trees: links never followed, odd names encoded,
a directory swapped for a link mid-scan, what cannot be read never reported removed, floods capped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.services.event_source_mappings import parse_source
from foundation.errors import InvalidRequest
from workers.events.patterns import compile_pattern
from workers.events.sources.core import filter_view
from workers.events.sources.file_system import baseline, parse_source_name, to_record
from workers.events.sources.fs_scan import (
    MAX_DEPTH,
    Change,
    KeyFilter,
    ObjectState,
    Scan,
    decode_key,
    differences,
    encode_key,
    scan,
)


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    root = tmp_path / "fs"
    root.mkdir()
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    yield root, fd
    os.close(fd)


def _scan(fd: int, rules: KeyFilter | None = None, limit: int = 1000) -> Scan:
    return scan(fd, rules or KeyFilter(), limit=limit)


def test_links_are_never_objects_nor_followed(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, fd = tree
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    (root / "a.txt").write_text("a")
    (root / "to-file").symlink_to(outside / "secret.txt")
    (root / "to-dir").symlink_to(outside)
    os.link(root / "a.txt", root / "hard.txt")  # a hard link is an object by its own path
    assert sorted(_scan(fd).objects) == ["a.txt", "hard.txt"]


def test_names_with_newlines_and_bytes_that_are_not_utf8_are_encoded_keys(tree: tuple[Path, int]) -> None:
    root, fd = tree
    names = [b"line\nbreak.txt", b"\xff\xfe.bin", b"space and+plus", b"caf\xc3\xa9"]
    for name in names:
        (root / os.fsdecode(name)).write_bytes(b"x")
    keys = sorted(_scan(fd).objects)
    assert keys == sorted(["line%0Abreak.txt", "%FF%FE.bin", "space+and%2Bplus", "caf%C3%A9"])
    assert all(k.isascii() for k in keys)
    assert sorted(decode_key(k) for k in keys) == sorted(names)
    assert encode_key(b"dir/sub/x y") == "dir/sub/x+y"


def test_prefix_and_suffix_rules_select_keys_and_limit_the_walk(tree: tuple[Path, int]) -> None:
    root, fd = tree
    for path in ["uploads/a.jpg", "uploads/b.png", "uploads/deep/c.jpg", "other/d.jpg", "top.jpg"]:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("x")
    rules = KeyFilter(b"uploads/", b".jpg")
    assert rules.directory == (b"uploads",)
    assert sorted(_scan(fd, rules).objects) == ["uploads/a.jpg", "uploads/deep/c.jpg"]
    assert sorted(_scan(fd, KeyFilter(b"up")).objects) == [
        "uploads/a.jpg",
        "uploads/b.png",
        "uploads/deep/c.jpg",
    ]
    assert sorted(_scan(fd, KeyFilter(b"", b".png")).objects) == ["uploads/b.png"]
    assert _scan(fd, KeyFilter(b"missing/")).objects == {}


def test_a_directory_swapped_for_a_link_mid_scan_yields_nothing_outside(
    tree: tuple[Path, int], tmp_path: Path
) -> None:
    root, fd = tree
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "passwd").write_text("root:x")
    for name in ["d/one.txt", "d/two.txt", "e/three.txt"]:
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_text("x")
    before = _scan(fd).objects
    swapped: list[bool] = []

    def swap(directory: int) -> None:  # as the walk enters each directory, the attacker strikes
        if not swapped:
            (root / "d").rename(outside.parent / "moved-away")
            (root / "d").symlink_to(outside)
            swapped.append(True)

    now = scan(fd, KeyFilter(), limit=100, watch=swap)
    assert swapped
    assert sorted(now.objects) == ["e/three.txt"]
    removed = [c.key for c in differences(before, now) if c.state is None]
    assert removed == ["d/one.txt", "d/two.txt"]  # they are no longer there: removed, never read through


def test_the_watched_directory_swapped_for_a_link_holds_nothing(
    tree: tuple[Path, int], tmp_path: Path
) -> None:
    root, fd = tree
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.txt").write_text("x")
    (root / "uploads").symlink_to(outside)
    assert _scan(fd, KeyFilter(b"uploads/")).objects == {}


def test_what_cannot_be_read_is_kept_never_reported_removed(tree: tuple[Path, int]) -> None:
    root, fd = tree
    deep = root.joinpath(*["n"] * (MAX_DEPTH + 2))
    deep.mkdir(parents=True)
    (deep / "f.txt").write_text("x")
    (root / "top.txt").write_text("x")
    now = _scan(fd)
    assert list(now.objects) == ["top.txt"]
    assert now.unknown and now.unknown[0].startswith("n/")
    key = "/".join(["n"] * (MAX_DEPTH + 2)) + "/f.txt"
    before = {**now.objects, key: now.objects["top.txt"]}
    assert differences(before, now) == []


def test_a_flood_is_capped_and_concludes_no_removal(tree: tuple[Path, int]) -> None:
    root, fd = tree
    for i in range(50):
        (root / f"f{i}").write_text("x")
    now = _scan(fd, limit=10)
    assert now.truncated and len(now.objects) == 10
    before = {f"gone{i}": next(iter(now.objects.values())) for i in range(3)}
    assert all(c.state is not None for c in differences(before, now))


def test_changes_created_changed_removed(tree: tuple[Path, int]) -> None:
    root, fd = tree
    (root / "a").write_text("1")
    (root / "b").write_text("1")
    first = _scan(fd).objects
    (root / "a").write_text("22")
    (root / "b").unlink()
    (root / "c").write_text("1")
    changes = differences(first, _scan(fd))
    assert [(c.key, c.state is not None) for c in changes] == [("a", True), ("c", True), ("b", False)]


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:s3:::photos", "photos"),
        ("arn:aws:s3:::photos/uploads/*.jpg", "photos/uploads/*.jpg"),
        ("arn:aws:s3:::photos/*.jpg", "photos/*.jpg"),
    ],
    ids=["whole", "prefix-and-suffix", "suffix"],
)
def test_file_system_sources_by_arn(arn: str, name: str) -> None:
    assert parse_source(arn, None) == ("fs", name)


def test_file_system_source_rules() -> None:
    assert parse_source_name("photos/uploads/*.jpg") == ("photos", KeyFilter(b"uploads/", b".jpg"))
    assert parse_source_name("photos") == ("photos", KeyFilter())


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:s3:::../etc",
        "arn:aws:s3:::",
        "arn:aws:s3:::ph/a\nb",
        "arn:aws:s3:::9lives",
        "arn:aws:s3:::ph/../../etc/*",
        "arn:aws:s3:::ph/a/./b",
        "arn:aws:s3:::ph/" + "x" * 1025,
    ],
    ids=["dots", "empty", "newline", "digit-first", "parent-in-prefix", "dot-in-prefix", "too-long"],
)
def test_bad_file_system_sources_are_refused(arn: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_source(arn, None)


def test_filter_criteria_see_the_s3_record() -> None:
    change = Change("uploads/a.jpg", ObjectState(5, 1, 2))
    record = to_record(change, "0000000000000001", "photos", "arn:aws:s3:::photos", "u", "us-east-1")
    view = filter_view(record.event)
    assert compile_pattern('{"eventName": [{"prefix": "ObjectCreated:"}]}').matches(view)
    assert compile_pattern('{"s3": {"object": {"size": [{"numeric": [">", 4]}]}}}').matches(view)
    assert not compile_pattern('{"eventName": [{"prefix": "ObjectRemoved:"}]}').matches(view)


def test_a_prefix_never_leads_above_the_file_system(tree: tuple[Path, int], tmp_path: Path) -> None:
    _, fd = tree
    (tmp_path / "beside.txt").write_text("outside")
    assert _scan(fd, KeyFilter(b"../")).objects == {}
    assert _scan(fd, KeyFilter(b"../fs/../")).objects == {}


@pytest.mark.parametrize(
    ("position", "kept"),
    [("LATEST", ["new", "old"]), (None, ["new", "old"]), ("TRIM_HORIZON", []), ("AT_TIMESTAMP", ["old"])],
    ids=["latest", "default", "trim-horizon", "at-timestamp"],
)
def test_the_baseline_follows_the_starting_position(position: str | None, kept: list[str]) -> None:
    second = 1_000_000_000
    found = Scan(objects={"old": ObjectState(1, 99 * second, 1), "new": ObjectState(1, 100 * second, 2)})
    at = datetime.fromtimestamp(100, UTC)
    assert sorted(baseline(position, at, found)) == kept
