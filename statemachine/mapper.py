"""A Map state's iterations, run by a bounded pool of workers (``branches.run_map``), or handed out in
chunks (``offload.run_offloaded``): either way each iteration's start, failure, abort and success
goes through here, so the MapIteration* events, ToleratedFailure* and the payload limit are applied
the same way wherever the iteration ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from statemachine import dataflow, ir
from statemachine.concurrency import all_or_first_error
from statemachine.context import Frame, StateContext
from statemachine.errors import StatesError
from statemachine.faults import DATA_LIMIT
from statemachine.json_types import JSON
from statemachine.map_runs import Gate

RunBlock = Callable[[ir.Block, JSON, Frame], Awaitable[JSON]]
"""``interpreter.run_block``, passed in: the interpreter imports the Map and Parallel code, not the
other way round."""


class Mapper:
    """A bounded pool of workers running one Map state's iterations."""

    def __init__(
        self,
        state: ir.Map,
        frame: Frame,
        ctx: StateContext,
        effective: JSON,
        items: list[JSON],
        run_block: RunBlock,
        tolerated: int,
        env: Any,
    ) -> None:
        self.state, self.frame, self.ctx, self.effective = state, frame, ctx, effective
        self.items, self.run_block, self.tolerated, self.env = items, run_block, tolerated, env
        self.results: list[JSON] = [None] * len(items)
        self.next_index = 0
        self.failures = 0
        self.chain = frame.last_event
        """Where the next iteration links to: the previous iteration's last state event."""
        self.latest = frame.last_event
        """The newest event any iteration recorded."""
        self.failed_prev: int | None = None
        self.failed_indexes: set[int] = set()
        """Iterations that failed (within tolerance): a ResultWriter lists them as FAILED."""
        self.failed_index: int | None = None
        """The iteration whose failure failed the Map."""
        self.finished: set[int] = set()
        """Iterations that ended (succeeded or failed)."""
        self.size = 0
        self.done = frame.run.redriven.pop(state.name, {})
        """Outputs of iterations that succeeded before a redrive: not run again."""
        self.gate: Gate | None = None
        """A Distributed Map's MaxConcurrency, which UpdateMapRun may change while it runs."""
        self.on_progress: Callable[[], None] = _nothing
        """Called as iterations start and end (a map run's progress reports)."""
        self.map_run_arn = ""
        """A Distributed Map's run ARN (its child executions' ARNs derive from it)."""
        self.map_run_redrives = 0
        """How often that run was redriven (its EXPRESS children run again get new ARNs)."""

    async def run(self, workers: int) -> list[JSON]:
        if not self.items:
            return []
        count = max(1, min(workers, len(self.items)))
        await all_or_first_error([self._worker() for _ in range(count)])
        return self.results

    async def _worker(self) -> None:
        gate = self.gate
        while self.next_index < len(self.items):
            if gate is None:
                index = self.next_index
                self.next_index += 1
                await self._iteration(index)
                continue
            await gate.enter()
            try:
                if self.next_index >= len(self.items):
                    return
                index = self.next_index
                self.next_index += 1
                await self._iteration(index)
            finally:
                await gate.leave()

    def item_input(self, index: int, frame: Frame) -> JSON:
        state, item = self.state, self.items[index]
        map_item = {"Index": index, "Value": item}
        if state.item_selector is not None:
            return dataflow.render(state.item_selector, self.effective, frame, self.ctx.for_item(map_item))
        if state.item_selector_jsonata is not None:
            ctx = self.ctx.for_item(map_item)
            env = dataflow.bindings(frame, ctx, self.effective)
            return dataflow.evaluate_jsonata(state.item_selector_jsonata, env, "ItemSelector")
        return item

    async def _iteration(self, index: int) -> None:
        if index in self.done:
            self.results[index] = self.done[index]
            self.finished.add(index)
            self.size += result_size(self.done[index])
            return
        item_input = self.item_input(index, self.frame)
        child = self.started(index)
        try:
            result = await self.run_block(self.state.processor, item_input, child)
        except StatesError as error:
            self.failed(index, child, error)
            return
        except asyncio.CancelledError:
            self.aborted(index, child)
            raise
        self.succeeded(index, child, result)

    def started(self, index: int) -> Frame:
        """The iteration's frame, after its MapIterationStarted event (inline Maps)."""
        if self.state.distributed:
            self.on_progress()
            return self.frame.detached()
        child = self.frame.child()
        child.last_event = self.chain
        child.record("MapIterationStarted", "mapIterationStartedEventDetails", self._detail(index))
        return child

    def _detail(self, index: int) -> dict[str, JSON]:
        return {"index": index, "name": self.state.name}

    def failed(self, index: int, child: Frame, error: StatesError) -> None:
        """Count a failed iteration; raises once failures pass the tolerated threshold."""
        before = child.last_event
        if not self.state.distributed:
            failed = child.record(
                "MapIterationFailed", "mapIterationFailedEventDetails", self._detail(index), advance=False
            )
            self.chain, self.latest = before, max(self.latest, failed)
        if self.failed_index is not None:
            # The Map failed already: this iteration ended as that failure stopped it (aborted), so
            # it neither counts as failed nor takes the place of the failure (which would count
            # the iteration that failed as succeeded, and a redrive would not run it again).
            raise error
        self.failures += 1
        self.finished.add(index)
        self.on_progress()
        if self.tolerated < 0 or self.failures > self.tolerated:
            self.failed_prev, self.failed_index = before, index
            if self.tolerated < 0:
                raise error
            raise StatesError(
                "States.ExceedToleratedFailureThreshold",
                "The specified tolerated failure threshold was exceeded",
            ) from error
        self.failed_indexes.add(index)
        self.results[index] = {"Error": error.name, **({"Cause": error.cause} if error.cause else {})}

    def aborted(self, index: int, child: Frame) -> None:
        if not self.state.distributed:
            child.record("MapIterationAborted", "mapIterationAbortedEventDetails", self._detail(index))

    def succeeded(self, index: int, child: Frame, result: JSON) -> None:
        """Keep an iteration's result; raises once the results together pass the payload limit."""
        state = self.state
        if not state.distributed:
            before = child.last_event
            done = child.record(
                "MapIterationSucceeded",
                "mapIterationSucceededEventDetails",
                self._detail(index),
                advance=False,
            )
            self.chain, self.latest = before, max(self.latest, done)
        self.results[index] = result
        self.finished.add(index)
        self.on_progress()
        self.size += result_size(result)
        if state.result_writer is None and self.size > self.frame.run.limits.max_payload_bytes:
            raise StatesError(
                DATA_LIMIT,
                f"The state/task '{state.name}' returned a result with a size exceeding "
                "the maximum number of bytes service limit.",
            )


def _nothing() -> None:
    return None


def result_size(result: JSON) -> int:
    """What one iteration's result counts towards the Map's payload limit: its UTF-8 JSON bytes, as
    ``dataflow.check_size`` counts a state's output (a string counts as its text)."""
    if isinstance(result, str):
        return len(result)
    if isinstance(result, (dict, list)):
        return dataflow.json_size(result)
    return 0
