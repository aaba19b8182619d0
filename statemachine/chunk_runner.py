"""The child's side of an offloaded Map chunk (``offload``): run its iterations standalone.

A host that offloads chunks (a Temporal child workflow) calls ``run_chunk`` with the ``MapChunk`` it
received; the outcomes go back to the parent, which applies the Map's rules to them. The processor's
state events are not recorded (a Distributed Map's child executions keep their own).

``run_express_chunk`` runs a Distributed Map's EXPRESS child executions the way Step Functions does:
each item an execution of its own (``ExecutionStarted`` ... ``ExecutionSucceeded``, on a host of its
own whose events the caller may log) with its own ``$$.Execution`` (``express_child_context``), at
most ``limit_seconds`` long (``States.Timeout`` for that item), with the same tolerance and stopping
rules as ``run_chunk``; a child cancelled (the chunk stopped, the Map failed) ends ``ExecutionAborted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import ChainMap
from collections.abc import Awaitable, Callable

from statemachine.arns import map_run_child_arn, map_run_child_name
from statemachine.compiler import compile_program
from statemachine.concurrency import all_or_first_error
from statemachine.context import ExecutionContext, Frame, Run
from statemachine.errors import StatesError
from statemachine.faults import TerminalError
from statemachine.history import NOT_TRUNCATED, History
from statemachine.host import Host
from statemachine.interpreter import ExecutionTimeout, run_block, with_timeout
from statemachine.intrinsics import IntrinsicEffects
from statemachine.json_types import JSON
from statemachine.map_runs import Gate
from statemachine.mapper import result_size
from statemachine.offload import IterationOutcome, MapChunk

EXPRESS_CHILD_SECONDS = 300.0
"""Step Functions' limit on an Express child execution's duration."""


class _Stop(Exception):
    """The chunk cannot change the Map's fate any more (too many failures, results too large)."""


Iteration = Callable[[int, JSON], Awaitable[JSON]]
"""Runs one iteration (its index, its input) to its output, or raises its ``StatesError``."""


async def run_chunk(chunk: MapChunk, host: Host, gate: Gate | None = None) -> list[IterationOutcome]:
    """Run a chunk's iterations on ``host`` (the child's side); their events are not recorded.
    ``gate``: the chunk's concurrency, which may change while it runs (else fixed)."""
    program = compile_program(chunk.processor)
    limits = chunk.limits
    history = History(host, limits.max_history_events, sink=False)
    effects = IntrinsicEffects(uuid4=host.uuid4, random=host.random)
    run = Run(host, limits, history, chunk.context, chunk.execution_input, effects)
    frame = Frame(run, ChainMap(dict(chunk.variables)))

    async def iteration(index: int, value: JSON) -> JSON:
        return await run_block(program.block, value, frame.child())

    return await _run_items(chunk, iteration, gate)


def express_child_context(chunk: MapChunk, index: int, host: Host) -> ExecutionContext:
    """``$$.Execution`` of item ``index``'s Express child execution, as Step Functions gives each child
    its own: its Express ARN (``Id``, the one its log events and a ResultWriter name), its name (the
    index), its start (``host.now()``); the state machine and role are the parent's."""
    if not chunk.map_run_arn:  # not a Distributed Map's chunk: nothing to derive an ARN from
        return chunk.context
    name = map_run_child_name(index, chunk.redrive_count)
    arn = express_child_arn(chunk, index)
    return dataclasses.replace(chunk.context, execution_id=arn, execution_name=name, start_time=host.now())


def express_child_arn(chunk: MapChunk, index: int) -> str:
    """Item ``index``'s Express child execution's ARN: named by its index, ``INDEX-redrive-N`` when
    the map run's ``N``-th redrive runs it again (a new execution, as Step Functions starts one)."""
    name = map_run_child_name(index, chunk.redrive_count)
    return map_run_child_arn(chunk.map_run_arn, name, express=True)


async def run_express_chunk(
    chunk: MapChunk,
    new_host: Callable[[int], Host],
    ended: Callable[[int, Host], None],
    limit_seconds: float = EXPRESS_CHILD_SECONDS,
    gate: Gate | None = None,
) -> list[IterationOutcome]:
    """Run a chunk's items as Express child executions: item ``i`` on ``new_host(i)``, which records
    the child's whole history (``ended(i, host)`` once it has ended, whichever way, cancelled too),
    ``$$.Execution`` its own (``express_child_context``: ``Input`` is the item); a child still running
    after ``limit_seconds`` (of its host's time) fails ``States.Timeout``."""
    program = compile_program(chunk.processor)
    limits = chunk.limits

    async def child(index: int, value: JSON) -> JSON:
        host = new_host(index)
        history = History(host, limits.max_history_events)
        effects = IntrinsicEffects(uuid4=host.uuid4, random=host.random)
        context = express_child_context(chunk, index, host)
        run = Run(host, limits, history, context, value, effects)
        frame = Frame(run, ChainMap(dict(chunk.variables)))
        started = {"input": value, "inputDetails": NOT_TRUNCATED, "roleArn": context.role_arn}
        frame.last_event = history.record("ExecutionStarted", 0, "executionStartedEventDetails", started)
        work = asyncio.ensure_future(run_block(program.block, value, frame))
        try:
            output = await with_timeout(work, limit_seconds, host)
        except ExecutionTimeout:
            cause = f"the Express child execution ran longer than {limit_seconds:g} s"
            details: dict[str, JSON] = {"error": "States.Timeout", "cause": cause}
            history.record("ExecutionTimedOut", frame.last_event, "executionTimedOutEventDetails", details)
            ended(index, host)
            raise StatesError("States.Timeout", cause) from None
        except StatesError as error:
            details = {"error": error.name} if error.name else {}
            if error.cause is not None:
                details["cause"] = error.cause
            history.record("ExecutionFailed", frame.last_event, "executionFailedEventDetails", details)
            ended(index, host)
            raise
        except asyncio.CancelledError:  # the chunk stopped or was cancelled: stopped with the Map Run
            work.cancel()
            await asyncio.wait({work})  # its states unwind first (their events come before the end)
            aborted: dict[str, JSON] = {"error": "States.Aborted", "cause": "The Map Run was stopped"}
            history.record("ExecutionAborted", frame.last_event, "executionAbortedEventDetails", aborted)
            ended(index, host)
            raise
        succeeded = {"output": output, "outputDetails": NOT_TRUNCATED}
        history.record("ExecutionSucceeded", frame.last_event, "executionSucceededEventDetails", succeeded)
        ended(index, host)
        return output

    return await _run_items(chunk, child, gate)


async def _run_items(chunk: MapChunk, iterate: Iteration, gate: Gate | None) -> list[IterationOutcome]:
    """The chunk's items through ``iterate``, ``chunk.max_concurrency`` (or ``gate``) at once, until
    they have all ended or the chunk cannot change the Map's fate any more; outcomes as they end."""
    limits = chunk.limits
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
            output = await iterate(index, value)
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
