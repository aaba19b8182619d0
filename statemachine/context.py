"""Execution-wide and per-branch run state, and the context object (``$$``) built from it."""

from __future__ import annotations

from collections import ChainMap
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from statemachine.history import NOT_TRUNCATED, History
from statemachine.host import Host
from statemachine.intrinsics import IntrinsicEffects
from statemachine.json_types import JSON
from statemachine.limits import Limits
from statemachine.mocks import TestCase
from statemachine.timestamps import format_timestamp


@dataclass(frozen=True)
class ExecutionContext:
    """Who and what is running: the identity parts of the context object."""

    execution_id: str
    """The execution ARN (``$$.Execution.Id``)."""
    execution_name: str
    state_machine_id: str
    """The state machine ARN."""
    state_machine_name: str
    role_arn: str
    start_time: datetime


@dataclass(frozen=True)
class ExecutionOutcome:
    """How an execution ended."""

    status: Literal["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
    output: JSON | None
    error: str | None
    cause: str | None


@dataclass(slots=True)
class Run:
    """What every state of one execution shares."""

    host: Host
    limits: Limits
    history: History
    context: ExecutionContext
    input: JSON
    effects: IntrinsicEffects
    start_time: str = ""
    """``$$.Execution.StartTime`` as text."""
    mocks: TestCase | None = None
    """The mocked Task calls of the test case it was started with (``statemachine.mocks``)."""
    redrive_count: int = 0
    """``$$.Execution.RedriveCount``: how many times the execution was redriven."""
    redriven: dict[str, dict[int, JSON]] = field(default_factory=dict)
    """A redriven attempt's Map or Parallel state (by name): the outputs of its iterations or
    branches that succeeded before, by index; taken by the state's first run."""
    redriven_map_runs: dict[str, tuple[str, int]] = field(default_factory=dict)
    """A redriven attempt's Distributed Map (by name): the map run it continues and that run's
    redrive count; taken by the state's first run."""

    def __post_init__(self) -> None:
        self.start_time = format_timestamp(self.context.start_time)


@dataclass(slots=True)
class Frame:
    """One thread of states: the top level, a Parallel branch or a Map iteration."""

    run: Run
    variables: ChainMap[str, JSON]
    """Variables in scope; assignments go to ``maps[0]``, the innermost scope."""
    last_event: int = 0
    """The id of the last event this thread recorded (the next event's previousEventId)."""
    in_parallel: bool = False
    """A Parallel branch: a Task failing out of it is recorded as aborted, as AWS does."""

    def record(
        self,
        type_: str,
        details_key: str | None = None,
        details: dict[str, JSON] | None = None,
        *,
        advance: bool = True,
    ) -> int:
        """Record an event in this thread.

        ``advance=False`` leaves the thread's last event where it was, for the events AWS skips
        when it links the next event (MapIterationSucceeded, MapStateSucceeded, ...).
        """
        event_id = self.run.history.record(type_, self.last_event, details_key, details)
        if advance:
            self.last_event = event_id
        return event_id

    def child(self) -> Frame:
        """A frame for a branch or iteration: inner variable scope, same run."""
        return Frame(self.run, self.variables.new_child(), self.last_event)

    def branch(self) -> Frame:
        """A frame for a Parallel branch."""
        return Frame(self.run, self.variables.new_child(), self.last_event, in_parallel=True)

    def detached(self) -> Frame:
        """A frame for a distributed Map's child run: its own (unrecorded) history."""
        run = replace(
            self.run, history=History(self.run.host, self.run.limits.max_history_events, sink=False)
        )
        return Frame(run, self.variables.new_child())


@dataclass(slots=True)
class StateContext:
    """``$$`` for one state, built only if a field reads it."""

    frame: Frame
    name: str
    entered_time: datetime
    retry_count: int | None = None
    """``$$.State.RetryCount`` (None for states without Retry, where AWS leaves it out)."""
    map_item: dict[str, JSON] | None = None
    task_token: str | None = None
    """``$$.Task.Token``: issued for a Task waiting for a callback or run by an activity worker."""
    _cached: dict[str, JSON] | None = field(default=None)

    def for_item(self, map_item: dict[str, JSON]) -> StateContext:
        """The same context plus ``Map.Item`` (ItemSelector), sharing everything already built."""
        base = self()
        item = StateContext(self.frame, self.name, self.entered_time, self.retry_count, map_item)
        item._cached = {**base, "Map": {"Item": map_item}}
        return item

    def __call__(self) -> dict[str, JSON]:
        if self._cached is None:
            run = self.frame.run
            ctx = run.context
            state: dict[str, JSON] = {"EnteredTime": format_timestamp(self.entered_time), "Name": self.name}
            if self.retry_count is not None:
                state["RetryCount"] = self.retry_count
            cached: dict[str, JSON] = {
                "Execution": {
                    "Id": ctx.execution_id,
                    "Input": run.input,
                    "StartTime": run.start_time,
                    "Name": ctx.execution_name,
                    "RoleArn": ctx.role_arn,
                    "RedriveCount": run.redrive_count,
                },
                "StateMachine": {"Id": ctx.state_machine_id, "Name": ctx.state_machine_name},
                "State": state,
            }
            if self.map_item is not None:
                cached["Map"] = {"Item": self.map_item}
            if self.task_token is not None:
                cached["Task"] = {"Token": self.task_token}
            self._cached = cached
        return self._cached


def entered_details(name: str, value: JSON) -> dict[str, JSON]:
    """``stateEnteredEventDetails``."""
    return {"name": name, "input": value, "inputDetails": NOT_TRUNCATED}
