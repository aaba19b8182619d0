"""Parallel and Map: branches and iterations as asyncio tasks in the host's event loop.

Results keep branch/item order. A failing branch cancels its siblings. Map never has more than
``MaxConcurrency`` (or ``Limits.max_map_in_flight`` when unbounded) iterations alive: a fixed pool
of workers pulls item indexes, so a million items cost a million small results, not a million tasks.
"""

from __future__ import annotations

import math
from typing import Any, Final, cast

from statemachine import dataflow, ir, item_io
from statemachine.arns import map_run_arn
from statemachine.concurrency import all_or_first_error
from statemachine.context import Frame, Run, StateContext
from statemachine.errors import StatesError
from statemachine.faults import DATA_LIMIT, QUERY_EVALUATION, EvaluationFault, runtime_fault
from statemachine.json_types import JSON
from statemachine.map_runs import MAP_RUN_CONTROLS, Gate, MapRunTracker, MapRunUpdate, patched
from statemachine.mapper import Mapper, RunBlock
from statemachine.offload import express_offloader, offloader_for, run_offloaded

Outcome = tuple[JSON, dict[str, JSON] | None]


async def run_parallel(
    state: ir.Parallel, raw: JSON, frame: Frame, ctx: StateContext, run_block: RunBlock
) -> Outcome:
    """Run every branch on the same input; the result is the list of branch outputs."""
    jsonata = state.query_language == "JSONata"
    if jsonata:
        env = dataflow.bindings(frame, ctx, raw)
        branch_input = (
            raw if state.arguments is None else dataflow.evaluate_jsonata(state.arguments, env, "Arguments")
        )
    else:
        effective = dataflow.select(state.input_path, raw, frame, ctx)
        branch_input = effective
        if state.parameters is not None:
            branch_input = dataflow.render(state.parameters, effective, frame, ctx)
    frame.record("ParallelStateStarted")
    children = [frame.branch() for _ in state.branches]
    done = frame.run.redriven.pop(state.name, {})  # branches that succeeded before a redrive
    try:
        results = await all_or_first_error(
            [
                _output(done[index]) if index in done else run_block(branch, branch_input, child)
                for index, (branch, child) in enumerate(zip(state.branches, children, strict=True))
            ]
        )
    finally:
        frame.last_event = max([frame.last_event, *(c.last_event for c in children)])
    return dataflow.finish_with_result(state, raw, results, frame, ctx)


async def _output(value: JSON) -> JSON:
    return value


def _number_field(
    field: str,
    constant: Any,
    path: Any,
    expr: Any,
    effective: JSON,
    frame: Frame,
    ctx: StateContext,
    env: Any,
    kind: str = "integer",
) -> Any:
    """MaxConcurrency / ToleratedFailure*: a constant, a path (numeric text accepted) or JSONata."""
    if expr is not None:
        found = dataflow.evaluate_jsonata(expr, env, field)
        value = _as_number(found, kind)
        if value is None:
            raise EvaluationFault(
                QUERY_EVALUATION,
                f"The {field} field must be a valid {kind}, but was: {dataflow.dumps(found)}",
                field,
            )
        return value
    if path is not None:
        found = dataflow.select(path, effective, frame, ctx)
        value = _as_number(found, kind)
        if value is None:
            raise runtime_fault(
                f'The {field}Path field refers to value "{_shown(found)}" which is not a valid {kind}: '
                f"{path.text}"
            )
        return value
    return constant


def _as_number(value: JSON, kind: str) -> int | float | None:
    if isinstance(value, str):
        try:
            value = int(value) if kind == "integer" else float(value)
        except ValueError:
            return None
    if type(value) is float and kind == "integer" and value.is_integer():
        value = int(value)
    if type(value) is int or (kind == "float" and type(value) is float):
        return value
    return None


def _shown(value: JSON) -> str:
    return value if isinstance(value, str) else dataflow.dumps(value)


async def run_map(state: ir.Map, raw: JSON, frame: Frame, ctx: StateContext, run_block: RunBlock) -> Outcome:
    """Run the item processor over every item; the result lists iteration outputs in item order."""
    run = frame.run
    redriven_run = run.redriven_map_runs.pop(state.name, ("", 0))  # the state's first run only
    jsonata = state.query_language == "JSONata"
    env = dataflow.bindings(frame, ctx, raw) if jsonata else None
    effective = raw if jsonata else dataflow.select(state.input_path, raw, frame, ctx)
    if state.item_reader is not None:
        items = await item_io.read_items(state.item_reader, effective, frame, ctx, env, state.name)
    else:
        items = _items(state, raw, effective, frame, ctx, env)
    limits = [
        _number_field(name, *limit, effective, frame, ctx, env) or 0
        for name, limit in (
            ("MaxItemsPerBatch", state.max_items_per_batch),
            ("MaxInputBytesPerBatch", state.max_input_bytes_per_batch),
        )
    ]
    items = _batched(items, limits[0], limits[1], _batch_input(state, effective, frame, ctx, env))
    max_concurrency = _number_field(
        "MaxConcurrency",
        state.max_concurrency,
        state.max_concurrency_path,
        state.max_concurrency_expr,
        effective,
        frame,
        ctx,
        env,
    )
    if max_concurrency is not None and max_concurrency < 0:
        # AWS leaves such an execution running forever; a clear failure serves users better.
        raise runtime_fault(f"MaxConcurrency must be a non-negative integer, but was: {max_concurrency}")
    if len(items) > run.limits.max_map_items:
        raise StatesError(
            DATA_LIMIT,
            f"The Map state '{state.name}' has {len(items)} items, more than the limit of "
            f"{run.limits.max_map_items}.",
        )
    frame.record("MapStateStarted", "mapStateStartedEventDetails", {"length": len(items)})
    count = _number_field(
        "ToleratedFailureCount",
        state.tolerated_failure_count,
        state.tolerated_failure_count_path,
        state.tolerated_failure_count_expr,
        effective,
        frame,
        ctx,
        env,
    )
    percentage = _number_field(
        "ToleratedFailurePercentage",
        state.tolerated_failure_percentage,
        state.tolerated_failure_percentage_path,
        state.tolerated_failure_percentage_expr,
        effective,
        frame,
        ctx,
        env,
        kind="float",
    )
    if percentage is not None and not 0 <= percentage <= 100:
        raise runtime_fault("ToleratedFailurePercentage must be between 0 and 100.")
    if count is not None and count < 0:
        raise runtime_fault("ToleratedFailureCount must be a non-negative integer.")
    tolerated = _tolerated(len(items), count, percentage)
    arn, map_run_redrives = "", 0
    if state.distributed:
        arn, map_run_redrives = _redriven_run(run, redriven_run)
        if arn:  # Step Functions redrives the Map Run itself: same ARN, its redrive count up
            details: dict[str, JSON] = {"mapRunArn": arn, "redriveCount": map_run_redrives}
            frame.record("MapRunRedriven", "mapRunRedrivenEventDetails", details)
        else:
            arn = map_run_arn(run.context.execution_id, state.name, run.host.uuid4())
            frame.record("MapRunStarted", "mapRunStartedEventDetails", {"mapRunArn": arn})
    started = run.host.now().isoformat()
    mapper = Mapper(state, frame, ctx, effective, items, run_block, tolerated, env)
    limit = max_concurrency if max_concurrency and max_concurrency > 0 else run.limits.max_map_in_flight
    tracker = None
    limit = min(limit, run.limits.max_map_in_flight)
    mapper.map_run_arn, mapper.map_run_redrives = arn, map_run_redrives
    offloader = offloader_for(state, run.host, len(items), run.limits)
    if state.distributed:
        # An execution whose Map started before map run controls came runs it as it started to:
        # no gate, no progress reports (Temporal commands its recorded history does not have).
        live = patched(run.host, MAP_RUN_CONTROLS)
        tracker = _tracker(mapper, arn, started, limits, (max_concurrency, count, percentage), live)
        if map_run_redrives:
            tracker.redriven(set(mapper.done), map_run_redrives, started)
        if offloader is None or express_offloader(offloader):
            # No chunk workflow's result holds the child runs' outputs: kept for a redrive.
            tracker.keep_outputs(mapper.results.__getitem__, set(mapper.done))
        await tracker.started()
        if live:
            limit = run.limits.max_map_in_flight  # workers enough for any MaxConcurrency: the gate decides
    try:
        if offloader is None:
            results = await mapper.run(limit)
        else:
            results = await run_offloaded(mapper, offloader, limit)
    except StatesError:
        # AWS links what follows a failed Map to the failed iteration's last state event.
        frame.last_event = mapper.failed_prev if mapper.failed_prev is not None else mapper.latest
        if tracker is not None:
            frame.record("MapRunFailed")
            await tracker.ended("FAILED", run.host.now().isoformat())
        raise
    finally:
        if tracker is not None:
            tracker.close()
    if state.result_writer is not None:
        # What succeeded before a redrive did not run again: the others ran in this redrive.
        rerun = {i: 0 if i in mapper.done else map_run_redrives for i in range(len(results))}
        records = [
            item_io.IterationRecord(i, mapper.item_input(i, frame), output, redrive_count=rerun[i])
            if i not in mapper.failed_indexes
            else item_io.IterationRecord(
                i, mapper.item_input(i, frame), None, *_error_of(output), redrive_count=rerun[i]
            )
            for i, output in enumerate(results)
        ]
        times = (started, run.host.now().isoformat())
        try:
            result: JSON = await item_io.write_results(
                state.result_writer,
                records,
                arn,
                times,
                effective,
                frame,
                ctx,
                env,
                state.name,
                express=express_offloader(offloader),
            )
        except StatesError:
            frame.record("MapRunFailed")
            if tracker is not None:
                await tracker.ended("FAILED", run.host.now().isoformat())
            raise
    else:
        result = results
    if tracker is not None:
        frame.record("MapRunSucceeded")
        await tracker.ended("SUCCEEDED", run.host.now().isoformat(), state.result_writer is not None)
    else:
        frame.last_event = mapper.latest
    frame.record("MapStateSucceeded", advance=False)
    return dataflow.finish_with_result(state, raw, result, frame, ctx)


MAP_RUN_REDRIVE: Final = "map-run-redrive"
"""The change under which a redriven execution continues its Distributed Map's map run (before it,
the redrive started a new one): a Temporal patch id, so a redrive recorded earlier replays."""


def _redriven_run(run: Run, redriven: tuple[str, int]) -> tuple[str, int]:
    """The map run a redriven attempt's first run of a Distributed Map continues (``redriven``, from
    the resume point) and its redrive count, where this execution takes the change; else
    ``("", 0)``: a new map run."""
    arn, count = redriven
    if not arn or not patched(run.host, MAP_RUN_REDRIVE):
        return "", 0
    return arn, count


def _tracker(
    mapper: Mapper,
    arn: str,
    started: str,
    batched: list[int],
    settings: tuple[int | None, int | None, float | None],
    live: bool = True,
) -> MapRunTracker:
    """A Distributed Map's map run: its MaxConcurrency a gate, its tolerance open to UpdateMapRun
    (``live``; else a run started before these came, reported at its start and end only)."""
    run, items = mapper.frame.run, mapper.items
    max_concurrency, count, percentage = settings
    in_flight = run.limits.max_map_in_flight
    gate = Gate(min(max_concurrency or in_flight, in_flight))
    if live:
        mapper.gate = gate

    tolerance = [count, percentage]  # None where the definition set none (a failure fails the Map)

    async def apply(update: MapRunUpdate) -> None:
        if update.tolerated_failure_count is not None:
            tolerance[0] = update.tolerated_failure_count
        if update.tolerated_failure_percentage is not None:
            tolerance[1] = update.tolerated_failure_percentage
        new_count = tolerance[0]
        mapper.tolerated = _tolerated(
            len(items), int(new_count) if new_count is not None else None, tolerance[1]
        )
        if update.max_concurrency is not None:
            await gate.set_limit(min(update.max_concurrency or in_flight, in_flight))

    def progress() -> tuple[int, list[int], list[int]]:
        return (mapper.next_index, *_settled(mapper))

    tracker = MapRunTracker(
        run.host,
        (arn, run.context.execution_id, started),
        _sizes(items) if any(batched) else [1] * len(items),
        (max_concurrency or 0, count or 0, float(percentage or 0)),
        progress,
        apply,
        mapper.state.execution_type,
        live,
    )
    if live:
        mapper.on_progress = tracker.changed
    return tracker


def _sizes(items: list[JSON]) -> list[int]:
    """How many items each child execution holds (a batch's ``Items``, else one)."""
    batches = [item.get("Items") if isinstance(item, dict) else None for item in items]
    return [len(batch) if isinstance(batch, list) else 1 for batch in batches]


def _settled(mapper: Mapper) -> tuple[list[int], list[int]]:
    """Indexes of the iterations that succeeded and of those that failed, so far."""
    failed = mapper.failed_indexes | ({mapper.failed_index} if mapper.failed_index is not None else set())
    done = [i for i in range(mapper.next_index) if i in mapper.finished and i not in failed]
    return done, sorted(failed)


def _error_of(output: JSON) -> tuple[str | None, str | None]:
    """A tolerated failure's ``{"Error", "Cause"}`` as the mapper kept it."""
    if not isinstance(output, dict):
        return "States.TaskFailed", None
    error, cause = output.get("Error"), output.get("Cause")
    return str(error), cause if isinstance(cause, str) else None


def _batch_input(state: ir.Map, effective: JSON, frame: Frame, ctx: StateContext, env: Any) -> JSON:
    """``ItemBatcher.BatchInput``, rendered once for every batch."""
    if state.batch_input is None:
        return None
    if state.query_language == "JSONata":
        return dataflow.evaluate_jsonata(state.batch_input, env, "ItemBatcher.BatchInput")
    return dataflow.render(state.batch_input, effective, frame, ctx)


def _batched(items: list[JSON], size: int, budget: int, batch_input: JSON) -> list[JSON]:
    """ItemBatcher: batches of at most ``size`` items (``MaxItemsPerBatch``) and ``budget`` bytes of
    them (``MaxInputBytesPerBatch``; 0: no such limit), each ``{"BatchInput"?: ..., "Items": [...]}``."""
    if size < 0 or budget < 0:
        raise runtime_fault("MaxItemsPerBatch and MaxInputBytesPerBatch must be positive integers.")
    if not size and not budget:
        return items
    extra = {} if batch_input is None else {"BatchInput": batch_input}
    batches: list[JSON] = []
    batch: list[JSON] = []
    used = 0
    for item in items:
        cost = len(dataflow.dumps(item).encode()) + 1
        if batch and ((size and len(batch) >= size) or (budget and used + cost > budget)):
            batches.append({**extra, "Items": batch})
            batch, used = [], 0
        batch.append(item)
        used += cost
    if batch:
        batches.append({**extra, "Items": batch})
    return batches


def _tolerated(length: int, count: int | None, percentage: float | None) -> int:
    tolerated = -1 if count is None and percentage is None else 0
    if count is not None:
        tolerated = max(tolerated, count)
    if percentage is not None:
        tolerated = max(tolerated, math.floor(length * percentage / 100))
    return tolerated


def _items(
    state: ir.Map, raw: JSON, effective: JSON, frame: Frame, ctx: StateContext, env: Any
) -> list[JSON]:
    if state.query_language == "JSONata":
        if state.items is None:
            value = raw
            if not isinstance(value, list):
                raise EvaluationFault(
                    QUERY_EVALUATION, f"Map state input must be an array but was: {dataflow.dumps(value)}"
                )
            return value
        value = dataflow.evaluate_jsonata(state.items, env, "Items")
        dataflow.expect_type(value, "array", state.items, "Items")
        return cast(list[JSON], value)  # expect_type checked it
    value = dataflow.select(state.items_path, effective, frame, ctx)
    if not isinstance(value, list):
        raise runtime_fault(f"Map state input must be an array but was: {dataflow.dumps(value)}")
    return value
