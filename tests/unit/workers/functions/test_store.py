"""The code store (content-addressed zips) and the cross-process concurrency slots (flock files)."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from workers.functions.codestore import CodeStore, InvalidCode, decode_zip, zip_files
from workers.functions.errors import TooManyRequestsError
from workers.functions.slots import SlotTable


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_files_zip_deterministically_and_store_once(tmp_path: Path) -> None:
    files = {"b.py": "B = 1\n", "a.py": "A = 1\n", "bootstrap": "#!/bin/sh\n"}
    assert zip_files(files) == zip_files(dict(reversed(files.items())))
    store = CodeStore(tmp_path)
    first = store.put(zip_files(files))
    second = store.put(zip_files(files))
    assert first == second and len(first.sha256) == 64
    assert (first.path / "a.py").read_text() == "A = 1\n"
    assert (first.path / "bootstrap").stat().st_mode & stat.S_IXUSR
    assert not (first.path / "a.py").stat().st_mode & stat.S_IXUSR
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.sha256]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a zip", "not a zip archive"),
        (zip_of({"../escape.py": b"x"}), "points outside the package"),
        (zip_of({"/etc/passwd": b"x"}), "points outside the package"),
    ],
    ids=["not-zip", "dot-dot", "absolute"],
)
def test_broken_packages_are_refused_and_leave_nothing(tmp_path: Path, data: bytes, message: str) -> None:
    store = CodeStore(tmp_path)
    with pytest.raises(InvalidCode, match=message):
        store.put(data)
    assert list(tmp_path.iterdir()) == []


def test_base64_is_checked() -> None:
    with pytest.raises(InvalidCode, match="zipFile is not valid base64"):
        decode_zip("not base64!")


def test_slots_cap_a_function_and_release(tmp_path: Path) -> None:
    table = SlotTable(tmp_path, overall=10)
    held = [table.acquire("f", 2), table.acquire("f", 2)]
    with pytest.raises(TooManyRequestsError, match="reserved concurrency"):
        table.acquire("f", 2)
    table.acquire("g", None)  # other functions are not affected
    table.release(held[0])
    table.acquire("f", 2)


def test_slots_are_shared_between_tables_as_between_processes(tmp_path: Path) -> None:
    one, two = SlotTable(tmp_path, overall=3), SlotTable(tmp_path, overall=3)
    mine = one.acquire("f", 2)
    two.acquire("f", 2)
    with pytest.raises(TooManyRequestsError):
        one.acquire("f", 2)
    two.acquire("g", None)
    with pytest.raises(TooManyRequestsError, match=r"Concurrency limit \(3\)"):
        two.acquire("h", None)
    one.release(mine)
    two.acquire("h", None)
    two.close()
    one.acquire("f", 2)  # closing a table frees its slots, as a crashed worker's


def test_reserved_zero_always_throttles(tmp_path: Path) -> None:
    with pytest.raises(TooManyRequestsError):
        SlotTable(tmp_path, overall=5).acquire("f", 0)


def test_python_modules_are_compiled_at_store_time_and_broken_ones_left_to_init(tmp_path: Path) -> None:
    import importlib.util
    import marshal

    stored = CodeStore(tmp_path).put(
        zip_files({"app.py": "X = 1\n", "pkg/mod.py": "Y = 2\n", "broken.py": "def (:\n"})
    )
    compiled = Path(importlib.util.cache_from_source(str(stored.path / "pkg" / "mod.py")))
    assert compiled.stat().st_mode & 0o777 == 0o644
    assert compiled.parent.stat().st_mode & 0o777 == 0o755
    code = marshal.loads(compiled.read_bytes()[16:])
    assert code.co_filename == "/var/task/pkg/mod.py"  # tracebacks name the sandbox path
    assert Path(importlib.util.cache_from_source(str(stored.path / "app.py"))).is_file()
    assert not Path(importlib.util.cache_from_source(str(stored.path / "broken.py"))).exists()
