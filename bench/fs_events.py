"""File-system event sources: what one scan costs (``workers/events/sources/fs_scan.py``) against
``os.walk`` + ``lstat`` of the same tree as the floor, its peak memory, and how soon inotify wakes
the poller after a write, in one run.

    python bench/fs_events.py [--files N] [--directories D]

Makes N empty files in D directories under a temporary directory, then prints: the scan's time and
objects/s, the floor's, the difference of two scans (nothing changed, then 1% changed), the peak
Python memory of a scan (tracemalloc) and per object, and the p50/p95 of write -> inotify wake-up over
50 writes. Every scan of a mapping walks its whole prefix, so this bounds how many objects a mapping
can watch before its rescans show (the default cap is 100,000).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from workers.events.sources.fs_scan import KeyFilter, differences, scan
from workers.events.sources.inotify import Watcher


def _tree(root: Path, files: int, directories: int) -> None:
    for d in range(directories):
        (root / f"d{d:04}").mkdir()
    for i in range(files):
        (root / f"d{i % directories:04}" / f"object-{i:07}.json").write_bytes(b"")


def _floor(root: Path) -> int:
    count = 0
    for top, _, names in os.walk(root):
        for name in names:
            os.lstat(os.path.join(top, name))
            count += 1
    return count


def _timed(label: str, n: int, run: object) -> float:
    started = time.perf_counter()
    run()  # type: ignore[operator]
    took = time.perf_counter() - started
    print(f"{label:<44} {took * 1000:9.1f} ms  {n / took:12,.0f} objects/s")
    return took


async def _wake_latency(root: Path, rounds: int = 50) -> list[float]:
    watcher = Watcher(1024)
    fd = os.open(root / "d0000", os.O_RDONLY | os.O_DIRECTORY)
    watcher.watch(fd)
    found: list[float] = []
    try:
        for i in range(rounds):
            watcher.changed.clear()
            started = time.perf_counter()
            (root / "d0000" / f"new-{i}").write_bytes(b"x")
            await asyncio.wait_for(watcher.changed.wait(), 5)
            found.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        watcher.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--directories", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        started = time.perf_counter()
        _tree(root, args.files, args.directories)
        made = time.perf_counter() - started
        print(f"{args.files:,} files in {args.directories} directories made in {made:.1f} s")
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            rules = KeyFilter()
            _timed("floor: os.walk + lstat", args.files, lambda: _floor(root))
            _timed("scan (descriptor walk, lstat, keys)", args.files, lambda: scan(fd, rules, limit=10**9))
            tracemalloc.start()
            first = scan(fd, rules, limit=10**9)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            per = peak / args.files
            print(f"{'scan peak Python memory':<44} {peak / 2**20:9.1f} MiB  {per:12,.0f} bytes/object")
            second = scan(fd, rules, limit=10**9)
            _timed("difference, nothing changed", args.files, lambda: differences(first.objects, second))
            for i in range(0, args.files, 100):
                (root / f"d{i % args.directories:04}" / f"object-{i:07}.json").write_bytes(b"changed")
            third = scan(fd, rules, limit=10**9)
            changed = len(differences(first.objects, third))
            _timed(f"difference, {changed:,} changed", args.files, lambda: differences(first.objects, third))
        finally:
            os.close(fd)
        waits = sorted(asyncio.run(_wake_latency(root)))
        p95 = waits[int(len(waits) * 0.95) - 1]
        print(f"{'write -> inotify wake-up p50 / p95':<44} {statistics.median(waits):9.3f} / {p95:.3f} ms")


if __name__ == "__main__":
    main()
