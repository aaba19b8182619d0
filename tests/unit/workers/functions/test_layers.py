"""Merging layers into one /opt: order, replacement without writing through a link into another
layer's stored file, Stepline's reserved directory, and the unzipped size."""

from __future__ import annotations

from pathlib import Path

from workers.functions.layers import RESERVED, merged_opt, unzipped_size


def layer(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_later_layers_win_and_stored_files_are_untouched(tmp_path: Path) -> None:
    first = layer(tmp_path / "a", {"python/shared.py": "a", "python/only_a.py": "a", "bin": "a file"})
    second = layer(tmp_path / "b", {"python/shared.py": "b", "bin/tool": "b", RESERVED + "/x": "hidden"})
    merged = merged_opt(tmp_path / "run", [first, second])
    assert (merged / "python/shared.py").read_text() == "b"
    assert (merged / "python/only_a.py").read_text() == "a"
    assert (merged / "bin/tool").read_text() == "b"  # a directory replaced a file
    assert (merged / RESERVED).is_dir() and not any((merged / RESERVED).iterdir())
    assert (first / "python/shared.py").read_text() == "a" and (first / "bin").read_text() == "a file"
    assert merged_opt(tmp_path / "run", [first, second]) == merged  # built once
    assert merged_opt(tmp_path / "run", [second, first]) != merged


def test_unzipped_size_leaves_out_compiled_modules(tmp_path: Path) -> None:
    root = layer(
        tmp_path / "code", {"app.py": "x" * 10, "lib/data.bin": "y" * 5, "__pycache__/app.pyc": "z" * 99}
    )
    assert unzipped_size(root) == 15
