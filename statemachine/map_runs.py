"""A Distributed Map's map run as the host may keep it (``DescribeMapRun``/``ListMapRuns``): its
settings and its item and child-execution counts, reported when it starts and when it ends."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class MapRunReport:
    """One map run at one moment; counts as DescribeMapRun's ``itemCounts``/``executionCounts``."""

    map_run_arn: str
    execution_arn: str
    status: str
    """RUNNING, SUCCEEDED, FAILED or ABORTED."""
    start_date: str
    stop_date: str | None
    max_concurrency: int
    tolerated_failure_count: int
    tolerated_failure_percentage: float
    item_counts: dict[str, int] = field(default_factory=dict)
    execution_counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> MapRunReport:
        return MapRunReport(**json.loads(text))


def counts(total: int, succeeded: int, failed: int, aborted: int, running: int) -> dict[str, int]:
    """AWS's count shape: ``pending`` is what has not started yet."""
    pending = max(0, total - succeeded - failed - aborted - running)
    return {
        "pending": pending,
        "running": running,
        "succeeded": succeeded,
        "failed": failed,
        "timedOut": 0,
        "aborted": aborted,
        "total": total,
        "resultsWritten": 0,
    }


@runtime_checkable
class MapRunObserver(Protocol):
    """An optional Host extension: keep map run reports (the Temporal host writes them down)."""

    async def report_map_run(self, report: MapRunReport) -> None: ...


class MapRunTracker:
    """Reports one map run to an observing host at its start and at its end (no-op otherwise)."""

    def __init__(
        self,
        host: object,
        arn: str,
        execution_arn: str,
        start_date: str,
        sizes: list[int],
        settings: tuple[int, int, float],
    ) -> None:
        """``sizes``: the items in each child execution (1 each unless batched); ``settings``:
        MaxConcurrency, ToleratedFailureCount, ToleratedFailurePercentage."""
        self._observer = host if isinstance(host, MapRunObserver) else None
        self._arn, self._execution, self._start = arn, execution_arn, start_date
        self._sizes, self._settings = sizes, settings

    def _report(self, status: str, stop: str | None, done: list[int], failed: list[int]) -> MapRunReport:
        total, running = len(self._sizes), 0 if stop else len(self._sizes) - len(done) - len(failed)
        items = sum(self._sizes)
        item_done = sum(self._sizes[i] for i in done)
        item_failed = sum(self._sizes[i] for i in failed)
        aborted = 0 if status != "FAILED" else total - len(done) - len(failed)
        item_aborted = 0 if status != "FAILED" else items - item_done - item_failed
        return MapRunReport(
            self._arn, self._execution, status, self._start, stop, *self._settings,
            item_counts=counts(items, item_done, item_failed, item_aborted, 0 if stop else items),
            execution_counts=counts(total, len(done), len(failed), aborted, running),
        )  # fmt: skip

    async def started(self) -> None:
        if self._observer is not None:
            await self._observer.report_map_run(self._report("RUNNING", None, [], []))

    async def ended(self, status: str, stop: str, done: list[int], failed: list[int]) -> None:
        if self._observer is not None:
            await self._observer.report_map_run(self._report(status, stop, done, failed))
