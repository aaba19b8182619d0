"""Task states that wait for a task token: ``.waitForTaskToken`` on any resource, and activities.

A token is issued by the host (``CallbackHost.issue_task_token``) for one attempt of one Task, put in
the context object (``$$.Task.Token``) before Parameters/Arguments are evaluated, and then:

* ``.waitForTaskToken``: the resource is called as usual (any call: ``lambda:invoke``, a service
  integration, ``states:startExecution``), recorded as TaskSubmitted, then the Task waits for
  SendTaskSuccess/SendTaskFailure; ``wait_for_token`` composes the two.
* an activity (``arn:aws:states:REGION:ACCOUNT:activity:NAME``): the host hands the input and token to
  GetActivityTask pollers (ActivityScheduled, ActivityStarted when a worker takes it), then the same wait.

TimeoutSeconds (AWS's default for these Tasks: 99999999) bounds the whole Task, HeartbeatSeconds the
time between two SendTaskHeartbeat calls: ``States.Timeout`` and ``States.HeartbeatTimeout``.
Hosts without these effects (the local host of synchronous Express executions, which AWS does not
let wait either) fail such a Task with ``States.Runtime``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from statemachine import dataflow
from statemachine.context import Frame, StateContext
from statemachine.errors import StatesError
from statemachine.faults import runtime_fault
from statemachine.history import NOT_TRUNCATED
from statemachine.json_types import JSON

WAIT_FOR_TASK_TOKEN: Final = ".waitForTaskToken"
DEFAULT_TIMEOUT_SECONDS: Final = 99999999
"""TimeoutSeconds of a callback or activity Task that sets none (AWS's default for them)."""
ACTIVITY_ARN: Final = re.compile(r"arn:aws[\w-]*:states:[\w-]*:\d*:activity:(?P<name>[A-Za-z0-9_-]{1,80})")
TIMEOUTS: Final = ("States.Timeout", "States.HeartbeatTimeout")


@dataclass(frozen=True, slots=True)
class TokenWait:
    """How long a Task waits for its token."""

    timeout_seconds: float
    """Left of the Task's TimeoutSeconds."""
    heartbeat_seconds: float | None = None
    """HeartbeatSeconds: the longest gap between heartbeats (and from the start to the first)."""
    on_started: Callable[[str], None] | None = None
    """Called with the worker's name when an activity worker takes the task (ActivityStarted)."""


@runtime_checkable
class CallbackHost(Protocol):
    """Effects of the callback pattern (the durable host implements them)."""

    async def issue_task_token(self, state_name: str) -> str:
        """A fresh, unguessable token for one attempt of the Task ``state_name``, now awaited."""
        ...

    async def wait_for_task_token(self, token: str, wait: TokenWait) -> JSON:
        """The output SendTaskSuccess gave the token. Raises ``StatesError``: the error and cause of
        SendTaskFailure, ``States.Timeout``, ``States.HeartbeatTimeout``. The token is closed after."""
        ...

    def close_task_token(self, token: str) -> None:
        """The Task ended before waiting (its call failed): reports with the token are refused."""
        ...


@runtime_checkable
class ActivityHost(CallbackHost, Protocol):
    """Hands activity tasks to GetActivityTask pollers."""

    async def schedule_activity_task(self, activity_arn: str, token: str, input_text: str) -> None:
        """Queue the task for the activity's workers; ``StatesError`` if the activity does not exist."""
        ...


def activity_name(resource: str) -> str | None:
    """The activity a Task's ``Resource`` names, or None."""
    found = ACTIVITY_ARN.fullmatch(resource)
    return found["name"] if found else None


def needs_token(resource: str) -> bool:
    """Whether a Task with this ``Resource`` gets a task token (``$$.Task.Token``)."""
    return resource.endswith(WAIT_FOR_TASK_TOKEN) or ACTIVITY_ARN.fullmatch(resource) is not None


def _callback_host(frame: Frame, resource: str) -> CallbackHost:
    host = frame.run.host
    if not isinstance(host, CallbackHost):
        raise runtime_fault(
            f"The resource '{resource}' waits for a task token, which only Standard executions can do."
        )
    return host


async def with_token(resource: str, frame: Frame, ctx: StateContext) -> StateContext:
    """``ctx`` with a fresh task token for this attempt (``$$.Task.Token``)."""
    token = await _callback_host(frame, resource).issue_task_token(ctx.name)
    return StateContext(frame, ctx.name, ctx.entered_time, ctx.retry_count, ctx.map_item, task_token=token)


def _wait(timeout_seconds: int | None, heartbeat: int | None, frame: Frame, started: float) -> TokenWait:
    total = float(timeout_seconds if timeout_seconds is not None else DEFAULT_TIMEOUT_SECONDS)
    elapsed = (frame.run.host.now().timestamp()) - started
    return TokenWait(max(0.0, total - elapsed), float(heartbeat) if heartbeat is not None else None)


async def wait_for_token(
    resource: str,
    base: dict[str, str],
    call: Callable[[], Awaitable[JSON]],
    frame: Frame,
    ctx: StateContext,
    timeout_seconds: int | None,
    heartbeat: int | None,
) -> JSON:
    """A ``.waitForTaskToken`` Task: ``call`` (which records TaskScheduled, TaskStarted and a failed
    call itself), TaskSubmitted with its result, then the wait: TaskSucceeded, TaskFailed or TaskTimedOut.
    ``base`` is the events' ``{resource, resourceType}``."""
    host = _callback_host(frame, resource)
    token = ctx.task_token
    if token is None:  # with_token ran before Parameters, always: a bug otherwise
        raise runtime_fault(f"No task token was issued for the resource '{resource}'")
    started = frame.run.host.now().timestamp()
    try:
        submitted = await call()
    except BaseException:  # the call failed, or the state was cancelled: nobody will wait
        host.close_task_token(token)
        raise
    frame.record(
        "TaskSubmitted",
        "taskSubmittedEventDetails",
        {**base, "output": submitted, "outputDetails": NOT_TRUNCATED},
    )
    try:
        output = await host.wait_for_task_token(token, _wait(timeout_seconds, heartbeat, frame, started))
    except StatesError as error:
        details: dict[str, JSON] = {**base, "error": error.name}
        if error.cause is not None:
            details["cause"] = error.cause
        frame.record("TaskTimedOut" if error.name in TIMEOUTS else "TaskFailed", _details_key(error), details)
        raise
    frame.record(
        "TaskSucceeded",
        "taskSucceededEventDetails",
        {**base, "output": output, "outputDetails": NOT_TRUNCATED},
    )
    return output


def _details_key(error: StatesError) -> str:
    return "taskTimedOutEventDetails" if error.name in TIMEOUTS else "taskFailedEventDetails"


async def run_activity(
    resource: str,
    payload: JSON,
    frame: Frame,
    ctx: StateContext,
    timeout_seconds: int | None,
    heartbeat: int | None,
) -> JSON:
    """An activity Task: ActivityScheduled, the task queued for GetActivityTask, ActivityStarted when
    a worker takes it, then ActivitySucceeded, ActivityFailed or ActivityTimedOut."""
    host = frame.run.host
    if not isinstance(host, ActivityHost):
        raise runtime_fault(
            f"The activity '{resource}' cannot run here: only Standard executions run activities."
        )
    token = ctx.task_token
    if token is None:
        raise runtime_fault(f"No task token was issued for the activity '{resource}'")
    input_text = dataflow.dumps(payload)
    details: dict[str, JSON] = {"resource": resource, "input": payload, "inputDetails": NOT_TRUNCATED}
    if timeout_seconds is not None:
        details["timeoutInSeconds"] = timeout_seconds
    if heartbeat is not None:
        details["heartbeatInSeconds"] = heartbeat
    started = host.now().timestamp()
    try:
        await host.schedule_activity_task(resource, token, input_text)
    except asyncio.CancelledError:
        host.close_task_token(token)
        raise
    except StatesError as error:
        host.close_task_token(token)
        failed: dict[str, JSON] = {"error": error.name}
        if error.cause is not None:
            failed["cause"] = error.cause
        frame.record("ActivityScheduleFailed", "activityScheduleFailedEventDetails", failed)
        raise
    frame.record("ActivityScheduled", "activityScheduledEventDetails", details)

    def on_started(worker: str) -> None:
        frame.record("ActivityStarted", "activityStartedEventDetails", {"workerName": worker})

    wait = _wait(timeout_seconds, heartbeat, frame, started)
    try:
        output = await host.wait_for_task_token(
            token, TokenWait(wait.timeout_seconds, wait.heartbeat_seconds, on_started)
        )
    except StatesError as error:
        ended: dict[str, JSON] = {"error": error.name}
        if error.cause is not None:
            ended["cause"] = error.cause
        if error.name in TIMEOUTS:
            frame.record("ActivityTimedOut", "activityTimedOutEventDetails", ended)
        else:
            frame.record("ActivityFailed", "activityFailedEventDetails", ended)
        raise
    frame.record(
        "ActivitySucceeded",
        "activitySucceededEventDetails",
        {"output": output, "outputDetails": NOT_TRUNCATED},
    )
    return output
