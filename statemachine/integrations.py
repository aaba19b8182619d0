"""Task states calling other services: the ``aws-sdk`` integrations, the optimized ones Stepline
implements (DynamoDB items, SNS publish, SQS send, EventBridge PutEvents) and the HTTP Task.

Pure: this module reads the ``Resource``, records the Task* events and hands one ``ServiceCall`` to
the host; how a service is reached (endpoints, credentials, signing, connections) is the host's.

* ``arn:aws:states:::aws-sdk:<service>:<action>``: any service and operation of the AWS SDK; the
  request members in PascalCase, as the SDK spells them.
* ``arn:aws:states:::dynamodb:getItem`` (putItem, updateItem, deleteItem), ``sns:publish``,
  ``sqs:sendMessage``, ``events:putEvents``: the optimized integrations.
* ``arn:aws:states:::http:invoke``: the HTTP Task.

Request-response runs here (``run_service_task``); a ``.waitForTaskToken`` step composes
``start_service_call`` (the call, then TaskSubmitted) with its own wait.
"""

from __future__ import annotations

import json

from statemachine import dataflow, ir
from statemachine.arns import region_of
from statemachine.context import Frame
from statemachine.errors import StatesError
from statemachine.faults import DATA_LIMIT
from statemachine.history import NOT_TRUNCATED
from statemachine.host import ServiceCall
from statemachine.json_types import JSON
from statemachine.service_resources import ServiceResource

# Running one ----------------------------------------------------------------------------------------


async def run_service_task(
    state: ir.Task,
    target: ServiceResource,
    parameters: JSON,
    frame: Frame,
    timeout_seconds: int | None,
    heartbeat: int | None,
) -> JSON:
    """A request-response service Task: TaskScheduled, TaskStarted, the call, TaskSucceeded (or
    TaskFailed / TaskTimedOut); returns the service's result."""
    base, output = await start_service_call(state, target, parameters, frame, timeout_seconds, heartbeat)
    frame.record(
        "TaskSucceeded",
        "taskSucceededEventDetails",
        {**base, "output": output, "outputDetails": NOT_TRUNCATED},
    )
    return output


async def start_service_call(
    state: ir.Task,
    target: ServiceResource,
    parameters: JSON,
    frame: Frame,
    timeout_seconds: int | None,
    heartbeat: int | None,
) -> tuple[dict[str, str], JSON]:
    """TaskScheduled, TaskStarted and the call; returns the events' ``{resource, resourceType}`` and
    the call's result. A failure records TaskFailed (or TaskTimedOut) and raises."""
    base = {"resource": target.action + target.pattern, "resourceType": target.resource_type}
    region = region_of(frame.run.context.execution_id)
    details: dict[str, JSON] = {**base, "region": region, "parameters": parameters}
    if timeout_seconds is not None:
        details["timeoutInSeconds"] = timeout_seconds
    if heartbeat is not None:
        details["heartbeatInSeconds"] = heartbeat
    frame.record("TaskScheduled", "taskScheduledEventDetails", details)
    frame.record("TaskStarted", "taskStartedEventDetails", dict(base))
    call = ServiceCall(
        kind=target.kind,
        service=target.service,
        action=target.action,
        parameters=dataflow.dumps(parameters),
        region=region,
        execution_arn=frame.run.context.execution_id,
        state_machine_arn=frame.run.context.state_machine_id,
        timeout_seconds=float(timeout_seconds) if timeout_seconds is not None else None,
        heartbeat_seconds=float(heartbeat) if heartbeat is not None else None,
        state_name=state.name,
    )
    try:
        text = await frame.run.host.call_service(call)
        output = _decode(text, frame, target)
    except StatesError as error:
        if error.name in ("States.Timeout", "States.HeartbeatTimeout"):
            frame.record("TaskTimedOut", "taskTimedOutEventDetails", {**base, "error": error.name})
        else:
            failed: dict[str, JSON] = {**base, "error": error.name}
            if error.cause is not None:
                failed["cause"] = error.cause
            frame.record("TaskFailed", "taskFailedEventDetails", failed)
        raise
    return base, output


def _decode(text: str, frame: Frame, target: ServiceResource) -> JSON:
    if len(text.encode()) > frame.run.limits.max_payload_bytes:
        raise StatesError(
            DATA_LIMIT,
            f"The state/task '{target.resource_type}' returned a result with a size exceeding "
            "the maximum number of bytes service limit.",
        )
    try:
        decoded: JSON = json.loads(text)
    except ValueError:
        raise StatesError("States.TaskFailed", "the service integration returned no JSON") from None
    return decoded
