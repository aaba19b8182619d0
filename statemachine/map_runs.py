"""A Distributed Map's map run as the host may keep it (``DescribeMapRun``/``ListMapRuns``): its
settings and its item and child-execution counts, reported when it starts, while it runs (at most
once every ``REPORT_SECONDS`` of host time, after iterations start or end) and when it ends; and
UpdateMapRun's changes (``MapRunUpdate``), applied to the iterations not yet started."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from statemachine.host import Host
from statemachine.json_types import JSON

REPORT_SECONDS = 1.0
"""Progress reports are written at most this often (each is one local activity in the history)."""

MAP_RUN_CONTROLS = "map-run-controls"
"""The change that brought progress reports, the concurrency gate (UpdateMapRun) and chunks told
their new share: a Temporal patch id, so a Map that started before it keeps its recorded commands."""


@runtime_checkable
class Versioned(Protocol):
    """An optional Host extension: whether this execution takes a change that alters its durable
    commands (Temporal's ``workflow.patched``: False for an execution that started the code
    concerned without it, for the rest of its run)."""

    def patched(self, change: str) -> bool: ...


def patched(host: object, change: str) -> bool:
    """``Versioned.patched``, or True for a host without versions (every run takes every change)."""
    return host.patched(change) if isinstance(host, Versioned) else True


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
    execution_type: str = "STANDARD"
    """``ProcessorConfig.ExecutionType`` of the child runs."""
    state_name: str = ""
    outputs: dict[str, JSON] = field(default_factory=dict)
    """Outputs of child runs that succeeded since the last report, by index, kept for a redrive
    (only for a run whose child runs ran in the parent: chunks keep theirs in their results)."""
    forget: bool = False
    """Drop the outputs kept for this state before keeping these (a fresh run, or one that
    succeeded: nothing to redrive)."""
    redrive_count: int = 0
    """How often the run was redriven (its execution redriven while it had not succeeded)."""
    redrive_date: str | None = None
    """When it was last redriven."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> MapRunReport:
        return MapRunReport(**json.loads(text))


@dataclass(frozen=True)
class MapRunUpdate:
    """UpdateMapRun's fields; None leaves a setting as it is."""

    max_concurrency: int | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: float | None = None


def counts(
    total: int, succeeded: int, failed: int, aborted: int, running: int, pending_redrive: int = 0
) -> dict[str, int]:
    """AWS's count shape: ``pending`` is what has not started yet (in a redriven run, what did not
    succeed before and has not started again: ``pendingRedrive`` too). Every child run that did not
    succeed may be redriven with its execution: ``failuresNotRedrivable`` is 0."""
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
        "failuresNotRedrivable": 0,
        "pendingRedrive": min(pending, pending_redrive),
    }


def stopped_counts(counts: dict[str, int]) -> dict[str, int]:
    """A run's counts once its execution stopped under it (ABORTED): what ran or waited to run is
    aborted, as when the run fails."""
    aborted = counts.get("aborted", 0) + counts.get("running", 0) + counts.get("pending", 0)
    return {**counts, "running": 0, "pending": 0, "pendingRedrive": 0, "aborted": aborted}


@runtime_checkable
class MapRunObserver(Protocol):
    """An optional Host extension: keep map run reports (the Temporal host writes them down)."""

    async def report_map_run(self, report: MapRunReport) -> None: ...


@runtime_checkable
class MapRunControls(Protocol):
    """An optional Host extension: know the running map runs, to route UpdateMapRun to them."""

    def map_run_started(self, arn: str, tracker: MapRunTracker) -> None: ...

    def map_run_ended(self, arn: str) -> None: ...


class Gate:
    """MaxConcurrency that may change while iterations run: each waits for a place to start."""

    def __init__(self, limit: int) -> None:
        self.limit, self.running = max(1, limit), 0
        self._changed = asyncio.Condition()
        self.listeners: list[Callable[[int], Awaitable[None]]] = []
        """Told each new limit (chunks already running take their share of it)."""

    async def enter(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.running < self.limit)
            self.running += 1

    async def leave(self) -> None:
        async with self._changed:
            self.running -= 1
            self._changed.notify(1)  # one place freed: one waiter (not all of them) looks again

    async def set_limit(self, limit: int) -> None:
        async with self._changed:
            self.limit = max(1, limit)
            self._changed.notify_all()
        for listener in self.listeners:
            await listener(self.limit)


Progress = Callable[[], tuple[int, list[int], list[int]]]
"""Iterations started so far, and the indexes of those that succeeded and of those that failed."""


class MapRunTracker:
    """Reports one map run to an observing host while it runs (no-op otherwise) and takes updates."""

    def __init__(
        self,
        host: Host,
        ids: tuple[str, str, str],
        sizes: list[int],
        settings: tuple[int, int, float],
        progress: Progress,
        apply: Callable[[MapRunUpdate], object],
        execution_type: str = "STANDARD",
        live: bool = True,
    ) -> None:
        """``ids``: the map run's ARN, its execution's ARN and its start date; ``sizes``: the items
        in each child execution (1 each unless batched); ``settings``: MaxConcurrency,
        ToleratedFailureCount, ToleratedFailurePercentage; ``apply``: puts an update into effect;
        ``live``: reports progress and takes updates (else a run begun before ``MAP_RUN_CONTROLS``:
        reported at its start and end, updates refused)."""
        self.live = live
        self._observer = host if isinstance(host, MapRunObserver) else None
        self._controls = host if isinstance(host, MapRunControls) else None
        self._host = host
        self.arn, (_, self._execution, self._start) = ids[0], ids
        self._sizes, self.settings, self._progress, self._apply = sizes, settings, progress, apply
        self._type = execution_type
        self._state = ids[0].rsplit(":", 1)[0].split("/", 1)[-1]
        self._outputs: Callable[[int], JSON] | None = None
        self._saved: set[int] = set()
        self._forget = False
        self._earlier: set[int] = set()
        self._redrive: tuple[int, str | None] = (0, None)
        self._dirty = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._last: asyncio.Future[None] | None = None

    def redriven(self, earlier: set[int], count: int, date: str) -> None:
        """This run is a redrive (the ``count``-th, at ``date``) of a run whose child runs
        ``earlier`` succeeded (they count as succeeded from the start; they do not run again)."""
        self._earlier, self._redrive = set(earlier), (count, date)

    def _report(
        self, status: str, stop: str | None, started: int, done: list[int], failed: list[int]
    ) -> MapRunReport:
        sizes = self._sizes
        succeeded = self._earlier.union(done)
        ended = succeeded.union(failed)
        total, items = len(sizes), sum(sizes)
        item_done = sum(sizes[i] for i in succeeded)
        item_failed = sum(sizes[i] for i in failed)
        if stop:
            running = item_running = 0
        else:
            running = sum(1 for i in range(started) if i not in ended)
            item_running = sum(sizes[i] for i in range(started) if i not in ended)
        ran = total - len(ended)
        item_ran = items - item_done - item_failed
        # A failed run aborts whatever had not ended: running, or waiting to start.
        aborted, item_aborted = (ran, item_ran) if status == "FAILED" else (0, 0)
        redrive = 0 if not self._redrive[0] or status == "FAILED" else ran - running
        item_redrive = 0 if not redrive else item_ran - item_running
        outputs, forget = self._kept(status, sorted(set(done)))
        return MapRunReport(
            self.arn, self._execution, status, self._start, stop, *self.settings,
            item_counts=counts(items, item_done, item_failed, item_aborted, item_running, item_redrive),
            execution_counts=counts(total, len(succeeded), len(failed), aborted, running, redrive),
            execution_type=self._type, state_name=self._state, outputs=outputs, forget=forget,
            redrive_count=self._redrive[0], redrive_date=self._redrive[1],
        )  # fmt: skip

    def keep_outputs(self, output_of: Callable[[int], JSON], earlier: set[int]) -> None:
        """Report the outputs of the child runs that succeed (``output_of``), for a redrive;
        ``earlier``: those a redrive resumed with (kept already)."""
        self._outputs, self._saved, self._forget = output_of, set(earlier), not earlier

    def _kept(self, status: str, done: list[int]) -> tuple[dict[str, JSON], bool]:
        if self._outputs is None:
            return {}, False
        if status == "SUCCEEDED":
            return {}, True
        forget, self._forget = self._forget, False
        new = [i for i in done if i not in self._saved]
        self._saved.update(new)
        return {str(i): self._outputs(i) for i in new}, forget

    async def started(self) -> None:
        if self._controls is not None:
            self._controls.map_run_started(self.arn, self)
        if self._observer is not None:
            await self._observer.report_map_run(self._report("RUNNING", None, 0, [], []))
            if self.live:
                self._loop = asyncio.get_running_loop().create_task(self._reporting())

    def changed(self) -> None:
        """Iterations started or ended: a progress report is due."""
        self._dirty.set()

    async def update(self, update: MapRunUpdate) -> None:
        """UpdateMapRun: new settings for what has not started yet, reported at once."""
        concurrency, count, percentage = self.settings
        self.settings = (
            concurrency if update.max_concurrency is None else update.max_concurrency,
            count if update.tolerated_failure_count is None else update.tolerated_failure_count,
            percentage
            if update.tolerated_failure_percentage is None
            else update.tolerated_failure_percentage,
        )
        result = self._apply(update)
        if asyncio.iscoroutine(result):
            await result
        self.changed()

    async def _reporting(self) -> None:
        assert self._observer is not None
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            report = self._report("RUNNING", None, *self._progress())
            # Shielded: closing the run waits for a report in flight instead of cutting it off.
            self._last = asyncio.ensure_future(self._observer.report_map_run(report))
            await asyncio.shield(self._last)
            await self._host.sleep(REPORT_SECONDS)

    def close(self) -> None:
        """Stop reporting progress (the run ended, failed or was cancelled); idempotent."""
        if self._loop is not None:
            self._loop.cancel()
        if self._controls is not None:
            self._controls.map_run_ended(self.arn)
            self._controls = None

    async def ended(self, status: str, stop: str, written: bool = False) -> None:
        """The last report; ``written``: a ResultWriter wrote every child run's result
        (``resultsWritten``)."""
        self.close()
        if self._observer is None:
            return
        if self._last is not None:
            await asyncio.wait([self._last])
        _, done, failed = self._progress()
        report = self._report(status, stop, len(self._sizes), done, failed)
        if written:
            written_runs = self._earlier.union(done, failed)
            report.execution_counts["resultsWritten"] = len(written_runs)
            report.item_counts["resultsWritten"] = sum(self._sizes[i] for i in written_runs)
        await self._observer.report_map_run(report)
