"""The inotify wake-up: a directory watched through its descriptor (the inode, not the path), and a
flood of events drained without starving the event loop."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from workers.events.sources.fs_scan import KeyFilter, scan
from workers.events.sources.inotify import Watcher


async def test_a_write_wakes_the_watcher_even_after_the_directory_was_renamed(tmp_path: Path) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    watcher = Watcher(8)
    fd = os.open(watched, os.O_RDONLY | os.O_DIRECTORY)
    try:
        watcher.watch(fd)
        assert watcher.available and len(watcher.watches) == 1
        watched.rename(tmp_path / "moved")  # a move of the directory itself is a change too
        await asyncio.wait_for(watcher.changed.wait(), 5)
        watcher.changed.clear()
        (tmp_path / "watched").mkdir()  # a new directory at the old path is not the one watched
        (tmp_path / "watched" / "decoy").write_text("x")
        await asyncio.sleep(0.05)
        assert not watcher.changed.is_set()
        (tmp_path / "moved" / "object").write_text("x")
        await asyncio.wait_for(watcher.changed.wait(), 5)
    finally:
        os.close(fd)
        watcher.close()


async def test_a_flood_of_events_leaves_the_loop_responsive_and_watches_are_capped(tmp_path: Path) -> None:
    watcher = Watcher(1)
    fds = [os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)]
    (tmp_path / "other").mkdir()
    fds.append(os.open(tmp_path / "other", os.O_RDONLY | os.O_DIRECTORY))
    try:
        for fd in fds:
            watcher.watch(fd)
        assert len(watcher.watches) == 1  # the cap: the rest are left to rescans
        for i in range(20_000):  # far more than one read of the queue holds
            (tmp_path / f"f{i}").write_bytes(b"")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        ticking = asyncio.create_task(tick())
        await asyncio.wait_for(watcher.changed.wait(), 5)
        await asyncio.sleep(0.05)
        ticking.cancel()
        assert ticks > 10
    finally:
        for fd in fds:
            os.close(fd)
        watcher.close()


async def test_a_prefix_directory_made_after_the_scan_wakes_the_watcher(tmp_path: Path) -> None:
    """A mapping on ``in/`` before ``in`` exists: the scan finds nothing, yet watches the directories
    above it, so making ``in`` and writing into it wakes the poller (not the next rescan, 30 s on)."""
    watcher = Watcher(8)
    root = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        found = scan(root, KeyFilter(prefix=b"in/deep/"), limit=10, watch=watcher.watch)
        assert not found.objects and len(watcher.watches) == 1  # the root: "in" is not there yet
        (tmp_path / "in").mkdir()
        await asyncio.wait_for(watcher.changed.wait(), 5)
        watcher.changed.clear()
        watcher.start_round()
        scan(root, KeyFilter(prefix=b"in/deep/"), limit=10, watch=watcher.watch)
        assert len(watcher.watches) == 2  # the root and "in", waiting for "deep"
        (tmp_path / "in" / "deep").mkdir()
        await asyncio.wait_for(watcher.changed.wait(), 5)
    finally:
        os.close(root)
        watcher.close()
