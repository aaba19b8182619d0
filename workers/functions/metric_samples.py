"""Errors and throttles per function over time, sampled from the runtime's Prometheus counters.

An invocation only increments in-memory counters (``workers.functions.metrics``), as before; this
background task reads them every ``every`` seconds and stores each function's increase since the
previous sample (``function_metric_sample``), one INSERT per sample and none while nothing changed.
The last sample is taken on the way out. Samples older than ``RETENTION`` are dropped as it goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from types import TracebackType

from prometheus_client import Counter

from foundation.registry.database import SessionMaker, unit_of_work
from foundation.registry.function_metrics import add_samples, prune_samples
from workers.functions.metrics import FunctionMetrics

log = logging.getLogger(__name__)

RETENTION = timedelta(days=14)


def counts(counter: Counter) -> dict[str, int]:
    """The counter's value per function label."""
    out: dict[str, int] = {}
    for metric in counter.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                out[sample.labels.get("function", "")] = int(sample.value)
    return out


class MetricSampler:
    """``async with MetricSampler(metrics, sessions):`` samples while the block runs."""

    def __init__(self, metrics: FunctionMetrics, sessions: SessionMaker, every: float = 10.0) -> None:
        self._metrics = metrics
        self._sessions = sessions
        self._every = every
        self._last: dict[str, tuple[int, int]] = self._read()
        self._task: asyncio.Task[None] | None = None

    def _read(self) -> dict[str, tuple[int, int]]:
        errors, throttles = counts(self._metrics.errors), counts(self._metrics.throttles)
        return {
            name: (errors.get(name, 0), throttles.get(name, 0)) for name in errors.keys() | throttles.keys()
        }

    async def sample(self) -> None:
        """Store what changed since the previous sample."""
        now = self._read()
        changed = {}
        for name, (errors, throttles) in now.items():
            before = self._last.get(name, (0, 0))
            delta = (errors - before[0], throttles - before[1])
            if delta != (0, 0):
                changed[name] = delta
        if changed:
            sampled_at = datetime.now(UTC)
            async with unit_of_work(self._sessions) as session:
                await add_samples(session, sampled_at, changed)
                await prune_samples(session, sampled_at - RETENTION)
        self._last = now

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.sample()
            except Exception as exc:  # the database is away: the counts wait for the next sample
                log.warning("could not store function metric samples: %s", exc)

    async def __aenter__(self) -> MetricSampler:
        self._task = asyncio.create_task(self._run(), name="stepline-function-metric-samples")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.sample()
