"""Large Maps in chunks: a host may run groups of iterations elsewhere (a Temporal child workflow).

A Map with more than ``Limits.map_offload_min_items`` items, in a host that implements
``MapOffloader``, hands its iterations over in chunks of ``Limits.map_chunk_items`` (or fewer, once
their inputs pass ``Limits.map_chunk_bytes``). A chunk carries everything its iterations need to
run standalone (``chunk_runner.run_chunk``): the item processor's definition, the item inputs (after
ItemSelector), the variables in scope, the context object's execution part and the limits. The
parent keeps every Map rule: MapIteration* events, ToleratedFailure*, result order and the payload
limit, applied to the chunk's outcomes as if the iterations had run inline.
The processor's own state events stay with the chunk (as a Distributed Map's child executions do).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol, runtime_checkable

from statemachine import dataflow, ir
from statemachine.concurrency import all_or_first_error
from statemachine.context import ExecutionContext
from statemachine.errors import StatesError
from statemachine.faults import RUNTIME, TerminalError
from statemachine.host import Host
from statemachine.json_types import JSON
from statemachine.limits import Limits
from statemachine.map_runs import patched
from statemachine.mapper import Mapper, result_size


@dataclass(frozen=True)
class MapChunk:
    """Some iterations of one Map state, with everything needed to run them standalone."""

    state_name: str
    processor: dict[str, JSON]
    """The item processor as a definition: ``QueryLanguage``, ``StartAt``, ``States``."""
    items: list[tuple[int, JSON]]
    """(item index, iteration input after ItemSelector/ItemBatcher)."""
    variables: dict[str, JSON]
    """Variables visible to the processor."""
    context: ExecutionContext
    execution_input: JSON
    """``$$.Execution.Input`` (None when the processor never reads the context object)."""
    max_concurrency: int
    """Iterations of this chunk running at once (its share of the Map's MaxConcurrency)."""
    tolerated: int
    """Stop the chunk once more iterations than this have failed (-1: at the first failure)."""
    limits: Limits
    results_limited: bool = True
    """Stop once the outputs together pass the payload limit (False: a ResultWriter keeps them)."""
    map_run_arn: str = ""
    """A Distributed Map's run (its EXPRESS child executions' ARNs derive from it); else empty."""
    redrive_count: int = 0
    """How often that map run was redriven (EXPRESS children run again get new ARNs)."""

    def to_json(self) -> str:
        """JSON text (what crosses a process boundary)."""
        context = dataclasses.asdict(self.context)
        context["start_time"] = self.context.start_time.isoformat()
        body = {
            "state_name": self.state_name,
            "processor": self.processor,
            "items": self.items,
            "variables": self.variables,
            "context": context,
            "execution_input": self.execution_input,
            "max_concurrency": self.max_concurrency,
            "tolerated": self.tolerated,
            "limits": dataclasses.asdict(self.limits),
            "results_limited": self.results_limited,
        }
        if self.map_run_arn:
            body["map_run_arn"] = self.map_run_arn
        if self.redrive_count:
            body["redrive_count"] = self.redrive_count
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)

    @staticmethod
    def from_json(text: str) -> MapChunk:
        body = json.loads(text)
        context = dict(body["context"])
        context["start_time"] = datetime.fromisoformat(context["start_time"])
        return MapChunk(
            state_name=body["state_name"],
            processor=body["processor"],
            items=[(index, value) for index, value in body["items"]],
            variables=body["variables"],
            context=ExecutionContext(**context),
            execution_input=body["execution_input"],
            max_concurrency=body["max_concurrency"],
            tolerated=body["tolerated"],
            limits=Limits(**body["limits"]),
            results_limited=body.get("results_limited", True),
            map_run_arn=body.get("map_run_arn", ""),
            redrive_count=body.get("redrive_count", 0),
        )


@dataclass(frozen=True)
class IterationOutcome:
    """How one iteration ended: its output, or its error and cause."""

    index: int
    output: JSON = None
    error: str | None = None
    cause: str | None = None
    terminal: bool = False
    """The error is a ``TerminalError`` (no Retry or Catch may handle it)."""

    def to_error(self) -> StatesError:
        kind = TerminalError if self.terminal else StatesError
        return kind(self.error or "", self.cause)


def outcomes_to_json(outcomes: Sequence[IterationOutcome]) -> str:
    return json.dumps([dataclasses.asdict(o) for o in outcomes], separators=(",", ":"), ensure_ascii=False)


def outcomes_from_json(text: str) -> list[IterationOutcome]:
    return [IterationOutcome(**o) for o in json.loads(text)]


@runtime_checkable
class MapOffloader(Protocol):
    """An optional Host extension: run a chunk of a large Map's iterations (e.g. in a child workflow).

    Returns the outcomes in the order the iterations finished. A chunk stops early (outcomes for
    some items missing) once its failures pass ``chunk.tolerated`` or its outputs together pass the
    payload limit; cancelling the call must cancel the chunk's iterations.
    """

    async def run_map_chunk(self, chunk: MapChunk) -> Sequence[IterationOutcome]: ...


@runtime_checkable
class ExpressChildren(Protocol):
    """An optional Host extension: run a chunk of a Distributed Map's EXPRESS child executions
    without a durable history per state (``TemporalHost``: one heartbeating activity per chunk,
    retried from the chunk's start if its worker dies: at least once, as Step Functions runs them).
    Same contract as ``MapOffloader.run_map_chunk``."""

    async def run_express_chunk(self, chunk: MapChunk) -> Sequence[IterationOutcome]: ...


EXPRESS_MAP_CHILDREN: Final = "express-map-children"
"""The Temporal patch under which a Distributed Map of ``ExecutionType: EXPRESS`` runs its child
executions through ``ExpressChildren`` (before it, they ran like STANDARD ones)."""


class _ExpressOffloader:
    """``MapOffloader`` over a host's ``ExpressChildren``."""

    def __init__(self, host: ExpressChildren) -> None:
        self._host = host

    async def run_map_chunk(self, chunk: MapChunk) -> Sequence[IterationOutcome]:
        return await self._host.run_express_chunk(chunk)


@runtime_checkable
class ChunkResizer(Protocol):
    """An optional MapOffloader extension: give the chunks of a Map already running a new
    concurrency (UpdateMapRun's MaxConcurrency, as each chunk's share)."""

    async def resize_map_chunks(self, state_name: str, concurrency: int) -> None: ...


def _reads_context(processor: dict[str, JSON]) -> bool:
    """Whether the processor may read ``$$`` / ``$states.context`` (else the input stays home)."""
    text = json.dumps(processor)
    return "$$" in text or "context" in text


async def run_offloaded(mapper: Mapper, offloader: MapOffloader, limit: int) -> list[JSON]:
    """The parent's side: run ``mapper``'s iterations in chunks, at most ``limit`` at once overall."""
    frame, state, limits = mapper.frame, mapper.state, mapper.frame.run.limits
    processor = state.processor_definition
    if processor is None:
        raise StatesError(RUNTIME, f"The Map state '{state.name}' has no processor definition to offload.")
    size, count, gate = max(1, limits.map_chunk_items), len(mapper.items), mapper.gate
    chunks = -(-count // size)
    in_flight = max(1, min(chunks, limits.map_max_chunks_in_flight, limit))
    if gate is not None:  # a Distributed Map: its gate counts chunks, its limit may change
        in_flight = max(1, min(chunks, limits.map_max_chunks_in_flight))

    def per_chunk() -> int:
        """A chunk's share of MaxConcurrency as it stands when the chunk starts."""
        current = limit if gate is None else gate.limit
        return max(1, current // max(1, min(in_flight, current)))

    variables = dict(frame.variables)
    execution_input = frame.run.input if _reads_context(processor) else None
    if gate is not None and isinstance(offloader, ChunkResizer):
        resizer = offloader

        async def resize(_: int) -> None:
            await resizer.resize_map_chunks(state.name, per_chunk())

        gate.listeners.append(resize)

    def take() -> list[tuple[int, JSON]]:
        """The next chunk's inputs: at most ``size`` items and about ``map_chunk_bytes`` of them."""
        inputs: list[tuple[int, JSON]] = []
        budget = limits.map_chunk_bytes
        while mapper.next_index < count and len(inputs) < size and budget > 0:
            index = mapper.next_index
            mapper.next_index += 1
            if index in mapper.done:  # succeeded before a redrive: not run again
                mapper.results[index] = mapper.done[index]
                mapper.finished.add(index)
                mapper.size += result_size(mapper.done[index])
                continue
            value = mapper.item_input(index, frame)
            inputs.append((index, value))
            budget -= len(dataflow.dumps(value))
        return inputs

    async def one(inputs: list[tuple[int, JSON]]) -> None:
        frames = {index: mapper.started(index) for index, _ in inputs}
        try:
            while inputs:
                chunk = MapChunk(
                    state.name, processor, inputs, variables, frame.run.context, execution_input,
                    per_chunk(), mapper.tolerated, limits, state.result_writer is None, mapper.map_run_arn,
                    mapper.map_run_redrives,
                )  # fmt: skip
                outcomes = await offloader.run_map_chunk(chunk)
                # Successes first: a child that succeeded before the chunk stopped counts (and is
                # kept for a redrive) even when a failure that ended before it fails the Map.
                for outcome in sorted(outcomes, key=lambda o: o.error is not None):
                    child = frames.pop(outcome.index)
                    if outcome.error is not None:
                        mapper.failed(outcome.index, child, outcome.to_error())
                    else:
                        mapper.succeeded(outcome.index, child, outcome.output)
                left = [(index, value) for index, value in inputs if index in frames]
                if left and (not outcomes or gate is None):  # no gate: no tolerance raised since
                    raise StatesError(
                        RUNTIME, f"A chunk of the Map state '{state.name}' stopped early without a failure."
                    )
                inputs = left  # stopped at the tolerance it started with, raised since (UpdateMapRun)
        except (StatesError, asyncio.CancelledError):
            for index, child in frames.items():
                mapper.aborted(index, child)
            raise

    async def worker() -> None:
        while gate is None and (inputs := take()):
            await one(inputs)
        while gate is not None and mapper.next_index < count:
            await gate.enter()
            try:
                if inputs := take():
                    await one(inputs)
            finally:
                await gate.leave()

    await all_or_first_error([worker() for _ in range(in_flight)])
    return mapper.results


def offloader_for(state: ir.Map, host: Host, items: int, limits: Limits) -> MapOffloader | None:
    """The host's offloader when this Map is large enough to use it; a Distributed Map of EXPRESS
    child executions, whatever its size, on a host that runs them (``ExpressChildren``)."""
    if state.processor_definition is None:
        return None
    express = state.distributed and state.execution_type == "EXPRESS"
    if express and isinstance(host, ExpressChildren) and patched(host, EXPRESS_MAP_CHILDREN):
        return _ExpressOffloader(host)
    if items <= limits.map_offload_min_items:
        return None
    return host if isinstance(host, MapOffloader) else None


def express_offloader(offloader: MapOffloader | None) -> bool:
    """Whether ``offloader`` runs EXPRESS child executions (``offloader_for``)."""
    return isinstance(offloader, _ExpressOffloader)
