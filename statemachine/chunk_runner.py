"""The child's side of an offloaded Map chunk (``offload``): run its iterations standalone.

A host that offloads chunks (a Temporal child workflow) calls ``run_chunk`` with the ``MapChunk`` it
received; the outcomes go back to the parent, which applies the Map's rules to them. The processor's
state events are not recorded (a Distributed Map's child executions keep their own).
"""

from __future__ import annotations

import contextlib
from collections import ChainMap

from statemachine.compiler import compile_program
from statemachine.concurrency import all_or_first_error
from statemachine.context import Frame, Run
from statemachine.errors import StatesError
from statemachine.faults import TerminalError
from statemachine.history import History
from statemachine.host import Host
from statemachine.interpreter import run_block
from statemachine.intrinsics import IntrinsicEffects
from statemachine.map_runs import Gate
from statemachine.mapper import result_size
from statemachine.offload import IterationOutcome, MapChunk


class _Stop(Exception):
    """The chunk cannot change the Map's fate any more (too many failures, results too large)."""


async def run_chunk(chunk: MapChunk, host: Host, gate: Gate | None = None) -> list[IterationOutcome]:
    """Run a chunk's iterations on ``host`` (the child's side); their events are not recorded.
    ``gate``: the chunk's concurrency, which may change while it runs (else fixed)."""
    program = compile_program(chunk.processor)
    limits = chunk.limits
    history = History(host, limits.max_history_events, sink=False)
    effects = IntrinsicEffects(uuid4=host.uuid4, random=host.random)
    run = Run(host, limits, history, chunk.context, chunk.execution_input, effects)
    frame = Frame(run, ChainMap(dict(chunk.variables)))
    outcomes: list[IterationOutcome] = []
    pending = list(reversed(chunk.items))
    failures = size = 0

    async def worker() -> None:
        while pending:
            if gate is None:
                await iteration()
                continue
            await gate.enter()
            try:
                if pending:
                    await iteration()
            finally:
                await gate.leave()

    async def iteration() -> None:
        nonlocal failures, size
        index, value = pending.pop()
        try:
            output = await run_block(program.block, value, frame.child())
        except StatesError as error:
            terminal = isinstance(error, TerminalError)
            outcomes.append(IterationOutcome(index, None, error.name, error.cause, terminal))
            failures += 1
            if chunk.tolerated < 0 or failures > chunk.tolerated:
                raise _Stop from None
            return
        outcomes.append(IterationOutcome(index, output))
        size += result_size(output)
        if chunk.results_limited and size > limits.max_payload_bytes:
            raise _Stop

    workers = max(1, min(chunk.max_concurrency, len(chunk.items)))
    if gate is not None:  # enough workers for any concurrency the gate may come to allow
        workers = max(1, min(limits.max_map_in_flight, len(chunk.items)))
    with contextlib.suppress(_Stop):
        await all_or_first_error([worker() for _ in range(workers)])
    return outcomes
