"""A Distributed Map's map run on a host that keeps reports and takes UpdateMapRun: progress is
reported while the run goes, and an update reaches the child runs not started yet (virtual time)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from statemachine.branches import MAP_RUN_REDRIVE
from statemachine.chunk_runner import run_express_chunk
from statemachine.host import FunctionCall, FunctionResult
from statemachine.interpreter import execute
from statemachine.item_io import IterationRecord, result_files
from statemachine.limits import Limits
from statemachine.loader import load_program
from statemachine.local import LocalHost, ServiceCaller, execution_context
from statemachine.map_runs import (
    MAP_RUN_CONTROLS,
    MapRunReport,
    MapRunTracker,
    MapRunUpdate,
    counts,
    stopped_counts,
)
from statemachine.offload import IterationOutcome, MapChunk
from statemachine.redrive import Resume, resume_point
from tests.unit.statemachine.test_distributed_map import Buckets
from tests.unit.statemachine.test_map_offload import ChunkingHost


class ObservingHost(LocalHost):
    """Keeps every report; the first progress report triggers ``update`` (as UpdateMapRun would)."""

    def __init__(self, update: MapRunUpdate) -> None:
        super().__init__(virtual_time=True)
        self.reports: list[MapRunReport] = []
        self.trackers: dict[str, MapRunTracker] = {}
        self.update = update

    async def report_map_run(self, report: MapRunReport) -> None:
        self.reports.append(report)
        if len(self.reports) == 2:
            await self.trackers[report.map_run_arn].update(self.update)

    def map_run_started(self, arn: str, tracker: MapRunTracker) -> None:
        self.trackers[arn] = tracker

    def map_run_ended(self, arn: str) -> None:
        self.trackers.pop(arn)


def machine(**fields: Any) -> dict[str, Any]:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": 10, "Next": "Which"},
            "Which": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.bad", "IsPresent": True, "Next": "Bad"}],
                "Default": "Good",
            },
            "Bad": {"Type": "Fail", "Error": "Bad"},
            "Good": {"Type": "Succeed"},
        },
    }
    each = {"Type": "Map", "ItemProcessor": processor, "End": True, **fields}
    return {"StartAt": "Each", "States": {"Each": each}}


async def run(update: MapRunUpdate) -> tuple[ObservingHost, Any]:
    host = ObservingHost(update)
    items: list[Any] = [{"n": i} for i in range(5)] + [{"bad": True}]
    context = execution_context("M", "e1", host.now())
    outcome = await execute(load_program(machine(MaxConcurrency=1)), items, context, host, Limits())
    return host, outcome


def seconds(report: MapRunReport) -> float:
    assert report.stop_date is not None
    return (
        datetime.fromisoformat(report.stop_date) - datetime.fromisoformat(report.start_date)
    ).total_seconds()


async def test_an_update_widens_the_remaining_items_and_tolerates_a_failure() -> None:
    host, outcome = await run(MapRunUpdate(max_concurrency=6, tolerated_failure_count=1))
    assert outcome.status == "SUCCEEDED", outcome
    final = host.reports[-1]
    assert (final.status, final.max_concurrency, final.tolerated_failure_count) == ("SUCCEEDED", 6, 1)
    assert seconds(final) == 10  # the five waiting items started at once, not one after another
    assert final.execution_counts["succeeded"] == 5 and final.execution_counts["failed"] == 1
    assert final.execution_type == "EXPRESS"
    running = [r.execution_counts["running"] for r in host.reports if r.status == "RUNNING"]
    assert max(running) == 6 and running[0] == 0
    assert host.trackers == {}


async def test_without_an_update_one_at_a_time_and_the_failure_fails_the_run() -> None:
    host, outcome = await run(MapRunUpdate())
    assert (outcome.status, outcome.error) == ("FAILED", "Bad")
    final = host.reports[-1]
    assert final.status == "FAILED" and seconds(final) == 60
    assert max(r.execution_counts["running"] for r in host.reports) == 1
    progress = [r.execution_counts["succeeded"] for r in host.reports if r.status == "RUNNING"]
    assert progress == sorted(progress) and progress[-1] >= 4  # counts moved while it ran


class ChunkingObservingHost(ObservingHost, ChunkingHost):
    """Both: the map run observed, its child runs in chunks."""


async def test_a_chunk_stopped_at_its_old_tolerance_runs_its_rest_after_an_update() -> None:
    """No tolerance when the first chunk starts; an update tolerates five failures: the chunk that
    stopped at its first failure has its remaining items run, and the Map succeeds."""
    host = ChunkingObservingHost(MapRunUpdate(tolerated_failure_count=5))
    items: list[Any] = [{"bad": True} if i in (3, 12) else {"n": i} for i in range(30)]
    context = execution_context("M", "e1", host.now())
    limits = Limits(map_offload_min_items=10, map_chunk_items=7, map_max_chunks_in_flight=3)
    outcome = await execute(load_program(machine(MaxConcurrency=1)), items, context, host, limits)
    assert outcome.status == "SUCCEEDED", outcome
    output: Any = outcome.output
    assert [i for i, o in enumerate(output) if "Error" in o] == [3, 12]
    assert [len(chunk.items) for chunk in host.chunks][:2] == [7, 3]  # items 4-6 again, on their own
    final = host.reports[-1]
    assert (final.status, final.execution_counts["succeeded"], final.execution_counts["failed"]) == (
        "SUCCEEDED",
        28,
        2,
    )


class UnpatchedHost(ObservingHost):
    """An execution whose Map started before ``MAP_RUN_CONTROLS`` (Temporal: no patch marker)."""

    def __init__(self) -> None:
        super().__init__(MapRunUpdate())
        self.asked: list[str] = []
        self.live: list[bool] = []

    def patched(self, change: str) -> bool:
        self.asked.append(change)
        return False

    async def report_map_run(self, report: MapRunReport) -> None:
        self.reports.append(report)
        self.live.extend(tracker.live for tracker in self.trackers.values())


async def test_a_map_begun_before_map_run_controls_keeps_its_recorded_commands() -> None:
    """No progress reports (each would be a local activity and a timer the old history lacks), no
    gate, and a tracker that refuses updates; MaxConcurrency still holds (as the old code did it)."""
    host = UnpatchedHost()
    items: list[Any] = [{"n": i} for i in range(3)]
    context = execution_context("M", "e1", host.now())
    outcome = await execute(load_program(machine(MaxConcurrency=1)), items, context, host, Limits())
    assert outcome.status == "SUCCEEDED", outcome
    assert host.asked == [MAP_RUN_CONTROLS]
    assert [r.status for r in host.reports] == ["RUNNING", "SUCCEEDED"]
    assert host.live == [False] and seconds(host.reports[-1]) == 30  # one at a time


class RedriveHost(LocalHost):
    """Keeps map run reports; item ``n`` of the ``bad`` ones fails its Lambda Task."""

    def __init__(
        self, bad: set[int], patched: bool = True, seed: int = 0, services: ServiceCaller | None = None
    ) -> None:
        super().__init__(invoker=self._invoke, virtual_time=True, seed=seed, services=services)
        self.bad, self.reports, self.calls = bad, list[MapRunReport](), list[int]()
        self._patched = patched

    async def _invoke(self, call: FunctionCall) -> FunctionResult:
        n = json.loads(call.payload)["n"]
        self.calls.append(n)
        if n in self.bad:
            return FunctionResult(b'{"errorType": "Broken"}', function_error="Unhandled")
        return FunctionResult(json.dumps(n * 10).encode())

    async def report_map_run(self, report: MapRunReport) -> None:
        self.reports.append(report)

    def patched(self, change: str) -> bool:
        return self._patched or change != MAP_RUN_REDRIVE

    def kept(self) -> dict[int, Any]:
        """The outputs the reports kept for a redrive (what ``map_run_output`` holds)."""
        return {int(i): v for r in self.reports for i, v in r.outputs.items()}


REDRIVE_MACHINE = {"StartAt": "Each", "States": {"Each": {
    "Type": "Map", "MaxConcurrency": 1, "End": True,
    "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": "arn:aws:lambda:::function:f", "End": True}},
    },
}}}  # fmt: skip


async def attempt(host: RedriveHost, resume: Resume | None = None) -> Any:
    context = execution_context("M", "e1", host.now())
    items: list[Any] = [{"n": i} for i in range(6)]
    return await execute(load_program(REDRIVE_MACHINE), items, context, host, Limits(), resume)


async def failed_then_redriven(patched: bool = True) -> tuple[RedriveHost, RedriveHost, Any]:
    first = RedriveHost({5})
    assert (await attempt(first)).status == "FAILED"
    events = [e.to_json() for e in first.history]
    resume = resume_point(load_program(REDRIVE_MACHINE), events, None, 1)
    resume = dataclasses.replace(resume, done=first.kept())
    second = RedriveHost(set(), patched, seed=1)  # another attempt: other random draws
    return first, second, await attempt(second, resume)


SUMMARY = ("succeeded", "failed", "aborted", "pending", "pendingRedrive", "total")


def summary(report: MapRunReport) -> tuple[int, ...]:
    return tuple(report.execution_counts[k] for k in SUMMARY)


async def test_a_redrive_continues_the_failed_map_run_and_counts_what_succeeded_before() -> None:
    """Item 5 fails the run (0-4 succeeded); the redrive continues the same run (MapRunRedriven,
    redrive count 1): 0-4 count as succeeded from its first report and are not run again, item 5
    waits as ``pendingRedrive`` and then runs."""
    first, second, outcome = await failed_then_redriven()
    assert (outcome.status, outcome.output) == ("SUCCEEDED", [0, 10, 20, 30, 40, 50])
    assert second.calls == [5]
    failed = first.reports[-1]
    assert (failed.status, failed.redrive_count, summary(failed)) == ("FAILED", 0, (5, 1, 0, 0, 0, 6))
    arn = failed.map_run_arn
    assert {r.map_run_arn for r in second.reports} == {arn}
    redriven = [e for e in second.history if e.type.startswith("MapRun")]
    assert [(e.type, e.details) for e in redriven] == [
        ("MapRunRedriven", {"mapRunArn": arn, "redriveCount": 1}),
        ("MapRunSucceeded", None),
    ]
    start = second.reports[0]
    assert (start.status, start.redrive_count, start.redrive_date) == ("RUNNING", 1, start.start_date)
    assert summary(start) == (5, 0, 0, 1, 1, 6)
    final = second.reports[-1]
    assert final.execution_counts == {
        "pending": 0, "running": 0, "succeeded": 6, "failed": 0, "timedOut": 0, "aborted": 0,
        "total": 6, "resultsWritten": 0, "failuresNotRedrivable": 0, "pendingRedrive": 0,
    }  # fmt: skip
    assert final.item_counts == final.execution_counts and final.redrive_count == 1


async def test_a_second_redrive_of_the_same_map_run_counts_two() -> None:
    first = RedriveHost({5})
    assert (await attempt(first)).status == "FAILED"
    program = load_program(REDRIVE_MACHINE)
    resume = resume_point(program, [e.to_json() for e in first.history], None, 1)
    second = RedriveHost({5})
    assert (await attempt(second, dataclasses.replace(resume, done=first.kept()))).status == "FAILED"
    assert (second.calls, summary(second.reports[-1])) == ([5], (5, 1, 0, 0, 0, 6))
    events = [e.to_json() for e in first.history] + [e.to_json() for e in second.history]
    again = resume_point(program, events, None, 2)
    assert (again.map_run_arn, again.map_run_redrive_count) == (resume.map_run_arn, 2)
    assert Resume.from_json(again.to_json()) == again


async def test_a_redrive_recorded_before_the_change_starts_a_new_map_run() -> None:
    """An execution redriven under earlier workers (no ``map-run-redrive`` marker) replays to the
    new map run it started then."""
    first, second, outcome = await failed_then_redriven(patched=False)
    assert outcome.status == "SUCCEEDED" and second.calls == [5]
    kinds = [e.type for e in second.history if e.type.startswith("MapRun")]
    assert kinds == ["MapRunStarted", "MapRunSucceeded"]
    assert second.reports[0].map_run_arn != first.reports[0].map_run_arn
    assert second.reports[-1].redrive_count == 0


def test_a_stopped_run_counts_what_ran_or_waited_as_aborted() -> None:
    running = counts(10, 3, 1, 0, 2)
    assert stopped_counts(running) == {**running, "running": 0, "pending": 0, "aborted": 6}


class ExpressRedriveHost(RedriveHost):
    """Runs a Distributed Map's EXPRESS children (``ExpressChildren``), each on a host of its own
    that calls the same function; S3 calls go to ``buckets``."""

    def __init__(self, bad: set[int], buckets: Buckets, seed: int = 0) -> None:
        super().__init__(bad, seed=seed, services=buckets)

    async def run_express_chunk(self, chunk: MapChunk) -> list[IterationOutcome]:
        def new_host(index: int) -> LocalHost:
            return LocalHost(invoker=self._invoke, virtual_time=True)

        return await run_express_chunk(chunk, new_host, lambda index, host: None)


def written_results(buckets: Buckets) -> dict[int, dict[str, Any]]:
    """The entries of the SUCCEEDED result files, by the index in their input."""
    texts = [body for (_, key), body in buckets.objects.items() if "/SUCCEEDED_" in key]
    assert texts and all(isinstance(text, str) for text in texts)
    return {json.loads(e["Input"])["n"]: e for text in texts for e in json.loads(str(text))}


async def test_a_result_writer_names_each_express_child_as_it_ran_after_a_redrive() -> None:
    """An EXPRESS Distributed Map with a ResultWriter fails at item 5 and is redriven: the result
    files name items 0-4 by the executions that succeeded in the first run (``...:INDEX``), item 5
    by the new one the redrive ran (``...:5-redrive-1``, its logs' ARN)."""
    definition = json.loads(json.dumps(REDRIVE_MACHINE))
    each = definition["States"]["Each"]
    each["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] = "EXPRESS"
    each["ResultWriter"] = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b"}}
    program, items = load_program(definition), list[Any]({"n": i} for i in range(6))
    first = ExpressRedriveHost({5}, Buckets({}))
    context = execution_context("M", "e1", first.now())
    assert (await execute(program, items, context, first, Limits())).status == "FAILED"
    resume = resume_point(program, [e.to_json() for e in first.history], None, 1)
    resume = dataclasses.replace(resume, done=first.kept())
    buckets = Buckets({})
    second = ExpressRedriveHost(set(), buckets, seed=1)
    outcome = await execute(program, items, context, second, Limits(), resume)
    assert outcome.status == "SUCCEEDED" and second.calls == [5], outcome
    run = resume.map_run_arn.replace(":mapRun:", ":express:")
    entries = written_results(buckets)
    assert {n: (e["ExecutionArn"], e["Name"]) for n, e in entries.items()} == {
        **{n: (f"{run}:{n}", str(n)) for n in range(5)},
        5: (f"{run}:5-redrive-1", "5-redrive-1"),
    }
    assert json.loads(entries[5]["Output"]) == 50


def test_result_files_name_a_rerun_child_by_its_kind() -> None:
    """A STANDARD child run again keeps its name (``...:execution:...:INDEX``); an EXPRESS one was a
    new execution (``INDEX-redrive-N``)."""
    run = "arn:aws:states:us-east-1:123456789012:mapRun:M:e/Each:r"
    records = [IterationRecord(0, {}, 1), IterationRecord(1, {}, 2, redrive_count=2)]
    for express, kind, second in ((True, "express", "1-redrive-2"), (False, "execution", "1")):
        (text,) = result_files(records, run, "machine", "t0", "t1", express=express)["SUCCEEDED"]
        arns = [(e["ExecutionArn"], e["Name"]) for e in json.loads(text)]
        prefix = f"arn:aws:states:us-east-1:123456789012:{kind}:M:e/Each:r:"
        assert arns == [(prefix + "0", "0"), (prefix + second, second)]
