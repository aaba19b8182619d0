"""A Task's call replaced by its test case's mocked response (``statemachine.mocks``), with the
events the call would have recorded: LambdaFunction* for a function ARN, Task* otherwise (the
resource type and name read from the Resource)."""

from __future__ import annotations

from statemachine import ir
from statemachine.arns import DEFAULT_REGION
from statemachine.context import Frame
from statemachine.errors import StatesError
from statemachine.history import NOT_TRUNCATED
from statemachine.json_types import JSON

_STATES_PREFIX = "arn:aws:states:::"


def is_mocked(state: ir.Task, frame: Frame) -> bool:
    mocks = frame.run.mocks
    return mocks is not None and mocks.mocks(state.name)


def _resource(state: ir.Task) -> dict[str, JSON]:
    """``resourceType`` and ``resource`` as Task events name them: ``arn:aws:states:::sns:publish``
    -> sns, publish; an activity or other ARN -> its service and the ARN."""
    if state.resource.startswith(_STATES_PREFIX):
        kind, _, action = state.resource[len(_STATES_PREFIX) :].partition(":")
        return {"resourceType": kind, "resource": action}
    parts = state.resource.split(":")
    return {"resourceType": parts[2] if len(parts) > 2 else "unknown", "resource": state.resource}


async def run_mocked(state: ir.Task, payload: JSON, frame: Frame, timeout_seconds: int | None) -> JSON:
    """The mocked result of this call of ``state``; its Throw raised as the call's error."""
    mocks = frame.run.mocks
    assert mocks is not None
    response = mocks.next_response(state.name)
    assert response is not None
    function = state.supported and not state.integration
    if function:
        scheduled: dict[str, JSON] = {
            "resource": state.resource,
            "input": payload,
            "inputDetails": NOT_TRUNCATED,
        }
        if timeout_seconds is not None:
            scheduled["timeoutInSeconds"] = timeout_seconds
        frame.record("LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", scheduled)
        frame.record("LambdaFunctionStarted")
        kind, ok, failed = "lambdaFunction", "LambdaFunctionSucceeded", "LambdaFunctionFailed"
        base: dict[str, JSON] = {}
    else:
        base = _resource(state)
        details: dict[str, JSON] = {**base, "region": DEFAULT_REGION, "parameters": payload}
        if timeout_seconds is not None:
            details["timeoutInSeconds"] = timeout_seconds
        frame.record("TaskScheduled", "taskScheduledEventDetails", details)
        frame.record("TaskStarted", "taskStartedEventDetails", dict(base))
        kind, ok, failed = "task", "TaskSucceeded", "TaskFailed"
    try:
        result = response.outcome()
    except StatesError as error:
        error_details: dict[str, JSON] = {**base, "error": error.name}
        if error.cause is not None:
            error_details["cause"] = error.cause
        frame.record(failed, f"{kind}FailedEventDetails", error_details)
        raise
    frame.record(
        ok, f"{kind}SucceededEventDetails", {**base, "output": result, "outputDetails": NOT_TRUNCATED}
    )
    return result
