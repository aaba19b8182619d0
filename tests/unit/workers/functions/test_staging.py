"""``staging.remove_later``: the directory is gone when it returns, its files deleted by a thread."""

from __future__ import annotations

import threading
from pathlib import Path

from workers.functions import staging


def _removals() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "stepline-rm"]


def test_the_directory_is_gone_at_once_and_its_files_deleted_after(tmp_path: Path) -> None:
    run_dir = tmp_path / "stepline-rt-x"
    (run_dir / "sdk" / "botocore").mkdir(parents=True)
    for i in range(200):
        (run_dir / "sdk" / "botocore" / f"m{i}.py").write_text("x")
    staging.remove_later(run_dir)
    assert not run_dir.exists()
    for removal in _removals():
        removal.join(10)
    assert list(tmp_path.iterdir()) == []  # neither the directory nor the renamed trash is left


def test_a_directory_that_cannot_be_renamed_is_deleted_in_place(tmp_path: Path) -> None:
    missing = tmp_path / "never-made"
    staging.remove_later(missing)  # nothing to rename, nothing to delete: no error
    assert list(tmp_path.iterdir()) == []
