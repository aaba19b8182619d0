"""An image's /opt/extensions links, resolved with the image's root as ``/`` and never followed on
the host (``extensions_api.resolve_in_image`` and what the extension listing makes of it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workers.functions.extensions_api import _image_extensions, resolve_in_image


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    """An image's root: an extension binary elsewhere, links to it and out of the image."""
    root = tmp_path / "rootfs"
    for folder in ("opt/extensions", "usr/local/bin", "usr/share", "proc", "var/rapid/python/bin"):
        (root / folder).mkdir(parents=True)
    binary = root / "usr/local/bin/agent"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    (root / "usr/share/data").write_text("not a program")
    (root / "var/rapid/python/bin/python3").write_text("the image's, but the sandbox mounts the worker's")
    (root / "var/rapid/python/bin/python3").chmod(0o755)
    links = {
        "absolute": "/usr/local/bin/agent",
        "relative": "../../usr/local/bin/agent",
        "chained": "hop",
        "hop": "/usr/./local/bin/../bin/agent",
        "data": "/usr/share/data",
        "folder": "/usr/local/bin",
        "above": "../../../usr/local/bin/agent",
        "far-above": "/../../etc/passwd",
        "proc": "/proc/self/exe",
        "rapid": "/var/rapid/python/bin/python3",
        "dangling": "/usr/local/bin/missing",
        "loop": "loop",
    }
    for name, target in links.items():
        os.symlink(target, root / "opt/extensions" / name)
    return root


@pytest.mark.parametrize(
    ("name", "leads_to"),
    [
        ("absolute", "usr/local/bin/agent"),
        ("relative", "usr/local/bin/agent"),
        ("chained", "usr/local/bin/agent"),
        ("data", "usr/share/data"),
    ],
    ids=["absolute", "relative", "a-chain-of-links", "to-a-plain-file"],
)
def test_a_link_inside_the_image_resolves_there(rootfs: Path, name: str, leads_to: str) -> None:
    assert resolve_in_image(rootfs, f"opt/extensions/{name}") == (rootfs / leads_to, "")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("above", "out of the image (above its root)"),
        ("far-above", "out of the image (above its root)"),
        ("proc", "out of the image (to /proc,"),
        ("rapid", "out of the image (to /var/rapid,"),
        ("dangling", "/usr/local/bin/missing: no such file or directory"),
        ("loop", "too many levels of symbolic links"),
    ],
    ids=[
        "relative-above-the-root",
        "absolute-above-the-root",
        "proc",
        "the-workers-python",
        "dangling",
        "loop",
    ],
)
def test_a_link_out_of_the_image_or_nowhere_is_refused(rootfs: Path, name: str, reason: str) -> None:
    target, why = resolve_in_image(rootfs, f"opt/extensions/{name}")
    assert target is None and reason in why


def test_links_to_executables_inside_are_extensions_the_rest_skipped_or_refused(rootfs: Path) -> None:
    names, refused = _image_extensions(rootfs)
    assert names == ("absolute", "chained", "hop", "relative")  # not data (no execute bit), not folder
    assert [name for name, _ in refused] == ["above", "dangling", "far-above", "loop", "proc", "rapid"]
