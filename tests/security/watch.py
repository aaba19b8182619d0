"""Watches for the resource attacks: how long the event loop was blocked, how much memory grew."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class Watch:
    """Filled while a ``watching`` block runs."""

    lags: list[float] = field(default_factory=list)
    """Seconds by which each 10 ms sleep of a ticker overshot: the loop was busy elsewhere."""
    rss: list[int] = field(default_factory=list)
    """This process's resident memory (bytes), sampled every tick."""
    baseline_rss: int = 0

    @property
    def max_lag(self) -> float:
        return max(self.lags, default=0.0)

    @property
    def rss_growth(self) -> int:
        return max(self.rss, default=self.baseline_rss) - self.baseline_rss


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.asynccontextmanager
async def watching(interval: float = 0.01) -> AsyncIterator[Watch]:
    """Tick on the event loop while the block runs; every tick records its lag and the RSS."""
    watch = Watch(baseline_rss=resident_bytes())
    stop = asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(interval)
            watch.lags.append(time.perf_counter() - before - interval)
            watch.rss.append(resident_bytes())

    ticker = asyncio.create_task(tick())
    try:
        yield watch
    finally:
        stop.set()
        await ticker
