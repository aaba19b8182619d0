"""What crosses the Temporal boundary: names, and one dataclass in and out of each workflow, signal,
query and activity. The API imports only this module from ``workers``.

No ``from __future__ import annotations`` here: Temporal's converter reads these dataclasses' type
hints for every payload, and string annotations would be evaluated again each time (it showed up as
half of a large Map's replay time).
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from statemachine import FunctionCall, FunctionResult

WORKFLOW_NAME = "StateMachineExecution"
STOP_SIGNAL = "stop"
HISTORY_QUERY = "history"
INVOKE_FUNCTION = "invoke_function"
RECORD_HISTORY = "record_history"
REPORT_MAP_RUN = "report_map_run"
"""Activity: write a Distributed Map's map run down (``statemachine.MapRunReport`` as JSON text)."""
UPDATE_MAP_RUN = "update_map_run"
"""Update: UpdateMapRun's new settings for a map run of the execution (``MapRunUpdateRequest``)."""
MAP_RUN_NOT_RUNNING = "MapRunNotRunning"
"""The update's rejection when the execution runs no such map run (any more)."""
FINISH_EXECUTION = "finish_execution"
CALL_SERVICE = "call_service"
"""A Task state's call of another service (``workers.integrations``)."""
MAP_CHUNK_WORKFLOW = "MapChunk"
"""Child workflow running a chunk of a large Map's iterations (``workers.map_chunk``)."""
CHUNK_CONCURRENCY_SIGNAL = "chunk_concurrency"
"""Signal to a running ``MapChunk``: its new concurrency (an int), after an UpdateMapRun."""
RUN_EXPRESS_CHUNK = "run_express_chunk"
"""Activity: a Distributed Map's EXPRESS child executions of one chunk (``MapChunkInput``; its
result: the outcomes, JSON text), on the worker's in-memory host (``workers.express_activities``)."""
RUN_EXPRESS_EXECUTION = "run_express_execution"
"""Activity: a nested ``.sync``/``.sync:2`` Express execution, run to its end
(``ExpressRunRequest`` -> ``ExpressRunResult``)."""
NESTED_EXPRESS_HEARTBEAT = timedelta(seconds=5)
"""Heartbeat timeout of ``run_express_execution``: how soon a dead worker's ``.sync`` Express child
runs again, and a stopped parent's one ends (within ~4 s, Temporal throttling heartbeats to 80 % of
it). ``run_express_chunk``'s: ``ExecutionInput.express_heartbeat_seconds``."""
EXPRESS_ATTEMPTS = 3
"""Runs of an Express activity whose worker keeps dying before it is given up (``States.Runtime``)."""

WORKFLOW_TASK_TIMEOUT = timedelta(seconds=30)
"""Leaves room for local activities' workflow-task heartbeats on a busy machine (Temporal: 10 s)."""


@dataclass(frozen=True)
class ExecutionInput:
    """Everything one execution needs; the definition travels with it so updates never affect it."""

    execution_id: str
    execution_name: str
    state_machine_name: str
    state_machine_version: int
    definition: str
    """The ASL definition, JSON text."""
    input: str
    """The execution's input, JSON text."""
    start_time: str
    """ISO-8601, as the API recorded it (``$$.Execution.StartTime``)."""
    role_arn: str = ""
    region: str = "us-east-1"
    """``Settings.region`` of the API that started it, for the ARNs in ``$$``."""
    local_task_max_seconds: float = 60.0
    """Task states without HeartbeatSeconds whose TimeoutSeconds is absent (the function's own
    timeout bounds them) or at most this run as local activities: no task-queue round trip, and a
    worker crash re-runs them on the next worker."""
    local_task_max_in_flight: int = 1
    """A Task runs as a local activity only while fewer than this many invocations are in flight:
    with the default, sequential Tasks are local and the Tasks of a wide Map or Parallel are ordinary
    activities. Local activities hold the workflow task open while they run; a Map keeping them busy
    would keep it open for good, and on a starved CPU a late heartbeat times it out and the whole
    history replays."""
    default_task_timeout_seconds: float = 900.0
    """start-to-close of a Task state without TimeoutSeconds (Lambda's maximum function timeout)."""
    report_chunk_bytes: int = 512 * 1024
    """History is written to PostgreSQL in activity calls of about this size."""
    express_heartbeat_seconds: float = 10.0
    """Heartbeat timeout of ``run_express_chunk`` (``Settings.worker.express_heartbeat_seconds``):
    how soon a dead worker's chunk of EXPRESS child executions runs again (and, with Temporal's
    heartbeat throttling at 80 % of it, how soon a cancellation reaches it)."""
    redrive: str | None = None
    """A redriven attempt's starting point (``statemachine.redrive.Resume``, JSON text); None for
    the first attempt."""
    mocks: str | None = None
    """Mocked responses of the test case it was started with (``stateMachineArn#TestCase``), JSON
    text (``statemachine.mocks``); None: every Task makes its call."""


@dataclass(frozen=True)
class MapChunkInput:
    """Child workflow ``MapChunk``: the parent's input (without definition and input text) and a
    ``statemachine.offload.MapChunk`` as JSON text. Its result: the outcomes, JSON text."""

    execution: ExecutionInput
    chunk: str


@dataclass(frozen=True)
class ExecutionResult:
    """The workflow's result (also written to PostgreSQL)."""

    status: str
    output: str | None = None
    """JSON text."""
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class MapRunUpdateRequest:
    """Update ``update_map_run``: None leaves a setting as it is."""

    map_run_arn: str
    max_concurrency: int | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: float | None = None


@dataclass(frozen=True)
class StopRequest:
    """Signal ``stop``: end the execution as ABORTED."""

    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class HistoryQuery:
    """Query ``history``: a page of the events recorded so far."""

    after_id: int | None = None
    """Events after this id (before it when ``reverse``); None starts at the first (or last)."""
    limit: int = 100
    reverse: bool = False


@dataclass(frozen=True)
class HistoryPage:
    """A page of Step Functions history events in their JSON shape."""

    events: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False


@dataclass(frozen=True)
class HistoryChunk:
    """Activity ``record_history``: events (a JSON array, text) of a finished execution."""

    execution_id: str
    events: str
    first_event_id: int | None = None
    last_event_id: int | None = None
    """The ids of the chunk's first and last event (read from ``events`` when not given)."""


@dataclass(frozen=True)
class FinishRequest:
    """Activity ``finish_execution``: the outcome, written once, with the last history chunk."""

    execution_id: str
    result: ExecutionResult
    stop_date: str
    """ISO-8601."""
    events: str = "[]"
    """The history's last chunk (a JSON array, text), stored in the same transaction."""
    first_event_id: int | None = None
    last_event_id: int | None = None
    """The ids of that chunk's first and last event (read from ``events`` when not given)."""


class Invoker(Protocol):
    """Runs user functions for Task states (the function runtime implements it).

    Activity ``invoke_function`` takes the interpreter's ``FunctionCall`` and returns its
    ``FunctionResult`` as they are, payload bytes untouched (``workers.payloads`` carries them)."""

    async def invoke_for_state_machine(self, call: FunctionCall) -> FunctionResult: ...


# Callbacks, activities and nested executions (``workers.task_waits``, ``workers.callback_activities``)

TASK_TOKEN_UPDATE = "task_token"
"""Update of a workflow waiting for a task token: SendTaskSuccess/Failure/Heartbeat, a worker took it."""
NEW_TASK_TOKEN_SECRET = "new_task_token_secret"
SCHEDULE_ACTIVITY_TASK = "schedule_activity_task"
WITHDRAW_ACTIVITY_TASK = "withdraw_activity_task"
REGISTER_CHILD_EXECUTION = "register_child_execution"
HEARTBEAT_TAKEN = "HeartbeatTaken"
"""The type of the update rejection that answers a heartbeat the wait did not need to record."""


@dataclass(frozen=True)
class TokenUpdate:
    """Update ``task_token``: what happened to the wait ``sequence`` whose secret is ``secret``."""

    sequence: int
    secret: str
    kind: str
    """``success``, ``failure``, ``heartbeat`` or ``started`` (an activity worker took the task)."""
    output: str | None = None
    """JSON text (success)."""
    error: str | None = None
    cause: str | None = None
    worker_name: str | None = None


@dataclass(frozen=True)
class ActivityTaskRequest:
    """Activities ``schedule_activity_task`` (queue it for pollers) and ``withdraw_activity_task``."""

    activity_name: str
    execution_id: str
    token: str
    input: str = ""


@dataclass(frozen=True)
class ChildExecutionRequest:
    """Activity ``register_child_execution``: record a child execution as RUNNING (and its parent)."""

    parent_execution_id: str
    state_machine_name: str
    published_version: int | None
    name: str
    input: str
    start_time: str
    state_name: str
    alias: str | None = None
    """Started through this alias of the machine: the version it routes ``draw`` (in [0, 100)) to."""
    draw: float = 0.0
    express_run: str = ""
    """Set (a uuid, the run id of its ARN) by workflows that start an EXPRESS machine's child as an
    Express execution; empty: registered as a Standard execution whatever the machine's type (how
    executions started before that change replay)."""
    wait: bool = False
    """``.sync``/``.sync:2``: an Express child is run by the parent (``run_express_execution``);
    otherwise it is queued as an asynchronous Express execution."""
    region: str = "us-east-1"


@dataclass(frozen=True)
class ChildExecutionRegistered:
    """What starting the child's workflow needs (``error`` set: it cannot start; AWS's error name)."""

    definition: str = ""
    version: int = 0
    role_arn: str = ""
    error: str | None = None
    cause: str | None = None
    express_arn: str = ""
    """An Express child's ARN (``...:express:MACHINE:NAME:RUN_ID``); empty for a Standard one."""
    log_level: str = "OFF"
    include_execution_data: bool = False
    log_group: str | None = None
    """The Express machine's logging configuration as of the start (a ``.sync`` child logs by it)."""


@dataclass(frozen=True)
class ExpressRunRequest:
    """Activity ``run_express_execution``: one Express execution and how it logs."""

    execution_arn: str
    name: str
    state_machine_name: str
    definition: str
    input: str
    """JSON text."""
    start_time: str
    """ISO-8601."""
    role_arn: str
    region: str
    log_level: str = "OFF"
    include_execution_data: bool = False
    log_group: str | None = None


@dataclass(frozen=True)
class ExpressRunResult:
    """How it ended (DescribeExecution's ``status``, ``output`` as JSON text, ``error``/``cause``)."""

    status: str
    stop_time: str
    """ISO-8601."""
    output: str | None = None
    error: str | None = None
    cause: str | None = None
