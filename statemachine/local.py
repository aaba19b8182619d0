"""The in-memory host: tests, the conformance runner, synchronous executions and the benchmark.

Time is virtual by default (``sleep`` advances ``now()`` at once, so a Wait of a day takes no time),
uuids and random numbers come from a seeded generator, and history stays in a list. A synchronous
execution runs it in real time with the sources it is given (``clock``, ``uuids``, ``seed=None``):
the language itself reads no clock and no entropy.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random as _random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from statemachine.arns import DEFAULT_ACCOUNT, execution_arn, role_arn, state_machine_arn
from statemachine.errors import StatesError
from statemachine.host import FunctionCall, FunctionResult, HistoryEvent, ServiceCall
from statemachine.interpreter import ExecutionContext, ExecutionOutcome, execute
from statemachine.json_types import JSON
from statemachine.limits import Limits
from statemachine.loader import load_program

FunctionInvoker = Callable[[FunctionCall], Awaitable[FunctionResult]]
"""Runs one user function (the conformance runner's handlers, a worker's sandbox, a test double)."""

ServiceCaller = Callable[[ServiceCall], Awaitable[str]]
"""Calls another service for a Task state (``workers.integrations`` in synchronous executions)."""

DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)


async def _until_idle(loop: asyncio.AbstractEventLoop) -> None:
    """Yield until no other callback is ready to run (bounded, in case something never settles)."""
    for _ in range(10_000):
        await asyncio.sleep(0)
        if not getattr(loop, "_ready", ()):
            return


async def _no_functions(call: FunctionCall) -> FunctionResult:
    raise StatesError(
        "Lambda.ResourceNotFoundException", f"Function not found: {call.function} (no invoker configured)"
    )


async def _no_services(call: ServiceCall) -> str:
    raise StatesError(
        "States.TaskFailed",
        f"The service '{call.service}' cannot be called here: this host has no service integrations",
    )


class LocalHost:
    """A ``Host`` living in memory."""

    def __init__(
        self,
        *,
        invoker: FunctionInvoker | None = None,
        start_time: datetime | None = None,
        seed: int | None = 0,
        virtual_time: bool = True,
        clock: Callable[[], datetime] | None = None,
        uuids: Callable[[], str] | None = None,
        services: ServiceCaller | None = None,
    ) -> None:
        """``seed`` None: the OS's entropy seeds the generator. ``clock`` (real time only): what
        ``now()`` reads, e.g. the wall clock; by default the start time plus the event loop's time.
        ``uuids``: where ``uuid4()`` comes from instead of the generator, e.g. ``uuid.uuid4``.
        ``services``: how Task states call other services (none: such a Task fails States.TaskFailed)."""
        self.history: list[HistoryEvent] = []
        self._invoker = invoker or _no_functions
        self._services = services or _no_services
        self._now = start_time or DEFAULT_START
        self._virtual = virtual_time
        self._clock = clock
        self._uuids = uuids
        self._loop_start: float | None = None
        self._rng = _random.Random(seed)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        if self._virtual:
            return self._now
        if self._clock is not None:
            return self._clock()
        if self._loop_start is None:
            self._loop_start = asyncio.get_running_loop().time()
        return self._now + timedelta(seconds=asyncio.get_running_loop().time() - self._loop_start)

    def uuid4(self) -> str:
        if self._uuids is not None:
            return self._uuids()
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def random(self) -> float:
        return self._rng.random()

    async def sleep(self, seconds: float) -> None:
        """Real time: asyncio.sleep. Virtual time: wake sleepers in deadline order, each as soon as
        every other task is blocked, moving ``now()`` to its deadline."""
        if not self._virtual:
            await asyncio.sleep(seconds)
            return
        loop = asyncio.get_running_loop()
        wake: asyncio.Future[None] = loop.create_future()
        deadline = self._now + timedelta(seconds=max(0.0, seconds))
        heapq.heappush(self._sleepers, (deadline, next(self._sequence), wake))
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        await wake

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        while self._sleepers:
            await _until_idle(loop)
            deadline, _, wake = heapq.heappop(self._sleepers)
            if wake.done():
                continue
            self._now = max(self._now, deadline)
            wake.set_result(None)

    async def invoke_function(self, call: FunctionCall) -> FunctionResult:
        if call.timeout_seconds is None:
            return await self._invoker(call)
        try:
            async with asyncio.timeout(call.timeout_seconds):
                return await self._invoker(call)
        except TimeoutError:
            raise StatesError("States.Timeout", None) from None

    async def call_service(self, call: ServiceCall) -> str:
        if call.timeout_seconds is None:
            return await self._services(call)
        try:
            async with asyncio.timeout(call.timeout_seconds):
                return await self._services(call)
        except TimeoutError:
            raise StatesError("States.Timeout", None) from None

    def record(self, event: HistoryEvent) -> None:
        self.history.append(event)


@dataclass(frozen=True)
class LocalRun:
    """One finished local execution."""

    outcome: ExecutionOutcome
    history: list[HistoryEvent] = field(default_factory=list)
    context: ExecutionContext | None = None


def execution_context(
    state_machine_name: str,
    execution_name: str,
    start_time: datetime,
    state_machine_type: str = "STANDARD",
    account: str = DEFAULT_ACCOUNT,
) -> ExecutionContext:
    """ARNs and names as Step Functions would give them in ``account`` (``DEFAULT_REGION``)."""
    express = state_machine_type == "EXPRESS"
    return ExecutionContext(
        execution_id=execution_arn(state_machine_name, execution_name, account=account, express=express),
        execution_name=execution_name,
        state_machine_id=state_machine_arn(state_machine_name, account=account),
        state_machine_name=state_machine_name,
        role_arn=role_arn(account=account),
        start_time=start_time,
    )


async def run_local(
    definition: str | Mapping[str, Any],
    input: JSON,
    *,
    invoker: FunctionInvoker | None = None,
    state_machine_name: str = "StateMachine",
    execution_name: str | None = None,
    start_time: datetime | None = None,
    state_machine_type: str = "STANDARD",
    limits: Limits | None = None,
    virtual_time: bool = True,
    account: str = DEFAULT_ACCOUNT,
) -> LocalRun:
    """Load, validate and run a definition on a fresh ``LocalHost`` (its ARNs in ``account``).

    Raises:
        DefinitionError: the definition does not validate.
    """
    program = load_program(definition)
    host = LocalHost(invoker=invoker, start_time=start_time, virtual_time=virtual_time)
    name = execution_name or host.uuid4()
    context = execution_context(state_machine_name, name, host.now(), state_machine_type, account)
    outcome = await execute(program, input, context, host, limits or Limits())
    return LocalRun(outcome, host.history, context)
