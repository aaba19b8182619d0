"""File systems as S3 buckets (``workers.integrations.file_buckets``): objects written and read back,
listings paged, and keys that would leave the file system or follow a link refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from statemachine import StatesError
from workers.integrations import file_buckets
from workers.integrations.file_buckets import _get, _list, _put


def test_put_get_and_list_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "fs"
    _put(root, {"Key": "a/b/c.json", "Body": "[1,2]"})
    _put(root, {"Key": "top.txt", "Body": "é"})
    assert _get(root, {"Key": "a/b/c.json"}) == {"Body": "[1,2]", "ContentLength": 5}
    listed = _list(root, {"Prefix": ""})
    assert listed["Contents"] == [{"Key": "a/b/c.json", "Size": 5}, {"Key": "top.txt", "Size": 2}]
    assert _list(root, {"Prefix": "a/"})["KeyCount"] == 1


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/hostname", "a//b", ".", ""])
def test_keys_with_dot_segments_or_empty_parts_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(StatesError) as raised:
        _get(tmp_path / "fs", {"Key": key})
    assert raised.value.name == "S3.InvalidRequest"


def test_links_are_never_followed(tmp_path: Path) -> None:
    root = tmp_path / "fs"
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "s.txt").write_text("secret")
    _put(root, {"Key": "x.txt", "Body": "x"})
    os.symlink(outside, root / "dir")
    os.symlink(outside / "s.txt", root / "file.txt")
    for key in ("dir/s.txt", "file.txt"):
        with pytest.raises(StatesError) as raised:
            _get(root, {"Key": key})
        assert raised.value.name == "S3.NoSuchKey"
    with pytest.raises(StatesError):
        _put(root, {"Key": "dir/new.txt", "Body": "x"})
    assert not (outside / "new.txt").exists()
    with pytest.raises(StatesError):
        _put(root, {"Key": "file.txt", "Body": "overwritten"})
    assert (outside / "s.txt").read_text() == "secret"
    assert [c["Key"] for c in _list(root, {})["Contents"]] == ["x.txt"]


def test_listings_page_and_stop_at_their_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "fs"
    for i in range(5):
        _put(root, {"Key": f"k{i}", "Body": ""})
    monkeypatch.setattr(file_buckets, "MAX_KEYS", 2)
    first = _list(root, {})
    assert first["IsTruncated"] is True and first["NextContinuationToken"] == "k1"
    assert _list(root, {"ContinuationToken": "k3"})["Contents"] == [{"Key": "k4", "Size": 0}]
    monkeypatch.setattr(file_buckets, "MAX_WALKED", 3)
    with pytest.raises(StatesError, match="more than 3 entries"):
        _list(root, {})


def test_objects_too_large_to_cross_temporal_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "fs"
    _put(root, {"Key": "q.json", "Body": '"' * 30})  # 30 bytes, 126 once escaped twice and quoted
    monkeypatch.setattr(file_buckets, "MAX_OBJECT_BYTES", 100)
    with pytest.raises(StatesError) as raised:
        _get(root, {"Key": "q.json"})
    assert raised.value.name == "S3.EntityTooLarge"
    _put(root, {"Key": "plain.txt", "Body": "x" * 90})
    assert _get(root, {"Key": "plain.txt"})["ContentLength"] == 90
