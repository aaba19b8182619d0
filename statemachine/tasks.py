"""Task states invoking Lambda functions, both ways AWS offers, with their history events.

* ``Resource: arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]``: the result is the decoded
  payload; events LambdaFunctionScheduled/Started/Succeeded/Failed/TimedOut.
* ``Resource: arn:aws:states:::lambda:invoke``: ``FunctionName``/``Payload`` from Parameters or
  Arguments; the result wraps the payload as the Lambda Invoke API answers; events Task*.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from statemachine import callbacks, dataflow, integrations, ir, mocked_calls, nested, service_resources
from statemachine.arns import DEFAULT_REGION, LAMBDA_INVOKE, region_of
from statemachine.context import Frame, StateContext
from statemachine.errors import StatesError
from statemachine.faults import DATA_LIMIT, runtime_fault
from statemachine.history import NOT_TRUNCATED
from statemachine.host import FunctionCall, FunctionResult
from statemachine.json_types import JSON


async def run_task(
    state: ir.Task, raw: JSON, frame: Frame, ctx: StateContext
) -> tuple[JSON, dict[str, JSON] | None]:
    """Run a Task state's I/O processing around one invocation; returns (output, assignedVariables)."""
    service = service_resources.request_response(state.resource)
    mocked = mocked_calls.is_mocked(state, frame)  # consulted before any resource's call
    if service_resources.is_unrun_optimized(state.resource) and not mocked:
        raise StatesError("States.TaskFailed", service_resources.unrun_message(state.resource))
    started_execution = nested.pattern_of(state.resource)
    waits = callbacks.needs_token(state.resource)
    if not state.supported and service is None and started_execution is None and not waits and not mocked:
        raise runtime_fault(
            f"The resource '{state.resource}' is not supported: Task states invoke Lambda functions "
            f"(a function ARN or {LAMBDA_INVOKE}), activities and service integrations."
        )
    if waits:  # $$.Task.Token, before Parameters/Arguments read it
        ctx = await callbacks.with_token(state.resource, frame, ctx)
    jsonata = state.query_language == "JSONata"
    if jsonata:
        env = dataflow.bindings(frame, ctx, raw)
        payload = (
            raw if state.arguments is None else dataflow.evaluate_jsonata(state.arguments, env, "Arguments")
        )
        timeout = _jsonata_number(state.timeout_seconds_expr, env, "TimeoutSeconds", state.timeout_seconds)
        heartbeat = _jsonata_number(
            state.heartbeat_seconds_expr, env, "HeartbeatSeconds", state.heartbeat_seconds
        )
    else:
        effective = dataflow.select(state.input_path, raw, frame, ctx)
        payload = effective
        if state.parameters is not None:
            payload = dataflow.render(state.parameters, effective, frame, ctx)
        timeout = _path_number(state.timeout_seconds_path, effective, frame, ctx, state.timeout_seconds)
        heartbeat = _path_number(state.heartbeat_seconds_path, effective, frame, ctx, state.heartbeat_seconds)
    if mocked:
        result = await mocked_calls.run_mocked(state, payload, frame, timeout)
    elif service is not None:
        result = await integrations.run_service_task(state, service, payload, frame, timeout, heartbeat)
    elif started_execution is not None:
        result = await nested.run_start_execution(
            state, started_execution, payload, frame, ctx, timeout, heartbeat
        )
    elif callbacks.activity_name(state.resource) is not None:
        result = await callbacks.run_activity(state.resource, payload, frame, ctx, timeout, heartbeat)
    elif waits:
        result = await _wait_for_token(state, payload, frame, ctx, timeout, heartbeat)
    elif state.integration:
        result = await _invoke_integration(state, payload, frame, timeout, heartbeat)
    else:
        result = await _invoke_function(state, payload, frame, timeout, heartbeat)
    return dataflow.finish_with_result(state, raw, result, frame, ctx)


def _jsonata_number(expr: Any, env: Any, field: str, constant: int | None) -> int | None:
    if expr is None:
        return constant
    value = dataflow.evaluate_jsonata(expr, env, field)
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int or value <= 0:
        raise runtime_fault(f"The {field} field must be a positive integer, but was: {dataflow.dumps(value)}")
    return value


def _path_number(
    path: Any, effective: JSON, frame: Frame, ctx: StateContext, constant: int | None
) -> int | None:
    if path is None:
        return constant
    value = dataflow.select(path, effective, frame, ctx)
    if type(value) is not int or value <= 0:
        raise runtime_fault(
            f"The value at {path.text} must be a positive integer, but was: {dataflow.dumps(value)}"
        )
    return value


async def _call(
    frame: Frame,
    function: str,
    payload: JSON,
    state: ir.Task,
    timeout_seconds: int | None,
    heartbeat: int | None,
) -> FunctionResult:
    call = FunctionCall(
        function=function,
        payload=_event_bytes(payload),
        timeout_seconds=float(timeout_seconds) if timeout_seconds is not None else None,
        heartbeat_seconds=float(heartbeat) if heartbeat is not None else None,
        state_name=state.name,
    )
    return await frame.run.host.invoke_function(call)


def _event_bytes(payload: JSON) -> bytes:
    """The event as Lambda receives it: JSON text, except that a string holding JSON goes as is."""
    if isinstance(payload, str):
        try:
            json.loads(payload)
        except ValueError:
            pass
        else:
            return payload.encode()
    return dataflow.dumps(payload).encode()


def _function_error(result: FunctionResult) -> StatesError:
    text = result.payload.decode(errors="replace")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    name = document.get("errorType") if isinstance(document, dict) else None
    cause = dataflow.dumps(document) if document is not None else text
    return StatesError(name if isinstance(name, str) and name else "Lambda.Unknown", cause)


def _decode(result: FunctionResult, frame: Frame, state: ir.Task) -> JSON:
    if len(result.payload) > frame.run.limits.max_payload_bytes:
        task = "lambda" if state.integration else state.resource
        raise StatesError(
            DATA_LIMIT,
            f"The state/task '{task}' returned a result with a size exceeding "
            "the maximum number of bytes service limit.",
        )
    if not result.payload.strip():
        return None
    try:
        decoded: JSON = json.loads(result.payload)
    except ValueError:
        return result.payload.decode(errors="replace")
    return decoded


async def _invoke_function(
    state: ir.Task, payload: JSON, frame: Frame, timeout_seconds: int | None, heartbeat: int | None
) -> JSON:
    details: dict[str, JSON] = {"resource": state.resource, "input": payload, "inputDetails": NOT_TRUNCATED}
    if timeout_seconds is not None:
        details["timeoutInSeconds"] = timeout_seconds
    frame.record("LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", details)
    frame.record("LambdaFunctionStarted")
    try:
        result = await _call(frame, state.resource, payload, state, timeout_seconds, heartbeat)
    except StatesError as error:
        if error.name in ("States.Timeout", "States.HeartbeatTimeout"):
            failed: dict[str, JSON] = {"error": error.name}
            if error.cause is not None:
                failed["cause"] = error.cause
            frame.record("LambdaFunctionTimedOut", "lambdaFunctionTimedOutEventDetails", failed)
        else:
            _record_lambda_failure(frame, error)
        raise
    if result.function_error is not None:
        function_error = _function_error(result)
        _record_lambda_failure(frame, function_error)
        raise function_error
    try:
        output = _decode(result, frame, state)
    except StatesError as error:
        _record_lambda_failure(frame, error)
        raise
    frame.record(
        "LambdaFunctionSucceeded",
        "lambdaFunctionSucceededEventDetails",
        {"output": output, "outputDetails": NOT_TRUNCATED},
    )
    return output


def _record_lambda_failure(frame: Frame, error: StatesError) -> None:
    details: dict[str, JSON] = {"error": error.name}
    if error.cause is not None:
        details["cause"] = error.cause
    frame.record("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails", details)


async def _wait_for_token(
    state: ir.Task,
    payload: JSON,
    frame: Frame,
    ctx: StateContext,
    timeout_seconds: int | None,
    heartbeat: int | None,
) -> JSON:
    """``<resource>.waitForTaskToken``: the call (``lambda:invoke`` or a service integration), then
    the wait for SendTaskSuccess/SendTaskFailure (``statemachine.callbacks``)."""
    target = service_resources.service_resource(state.resource)
    if target is not None:
        base = {"resource": target.action + target.pattern, "resourceType": target.resource_type}

        async def call() -> JSON:
            start = integrations.start_service_call
            _, output = await start(state, target, payload, frame, timeout_seconds, heartbeat)
            return output

    elif state.resource == LAMBDA_INVOKE + callbacks.WAIT_FOR_TASK_TOKEN:
        base = {"resource": "invoke" + callbacks.WAIT_FOR_TASK_TOKEN, "resourceType": "lambda"}

        async def call() -> JSON:
            return await _invoke_integration(
                state, payload, frame, timeout_seconds, heartbeat, submitted=True
            )

    else:
        raise runtime_fault(f"The resource '{state.resource}' does not support the callback pattern.")
    return await callbacks.wait_for_token(state.resource, base, call, frame, ctx, timeout_seconds, heartbeat)


async def _invoke_integration(
    state: ir.Task,
    parameters: JSON,
    frame: Frame,
    timeout_seconds: int | None,
    heartbeat: int | None,
    *,
    submitted: bool = False,
) -> JSON:
    """``submitted``: the call of a ``.waitForTaskToken`` Task (TaskSubmitted ends it, not TaskSucceeded)."""
    resource = "invoke" + (callbacks.WAIT_FOR_TASK_TOKEN if submitted else "")
    base = {"resource": resource, "resourceType": "lambda"}
    details: dict[str, JSON] = {**base, "region": DEFAULT_REGION, "parameters": parameters}
    if timeout_seconds is not None:
        details["timeoutInSeconds"] = timeout_seconds
    if heartbeat is not None:
        details["heartbeatInSeconds"] = heartbeat
    frame.record("TaskScheduled", "taskScheduledEventDetails", details)
    frame.record("TaskStarted", "taskStartedEventDetails", dict(base))
    try:
        function, payload = _integration_arguments(parameters)
        if isinstance(function, str) and function.startswith("arn:"):
            details["region"] = region_of(function)
        result = await _call(frame, function, payload, state, timeout_seconds, heartbeat)
    except StatesError as error:
        if error.name in ("States.Timeout", "States.HeartbeatTimeout"):
            frame.record("TaskTimedOut", "taskTimedOutEventDetails", {**base, "error": error.name})
        else:
            _record_task_failure(frame, error, base)
        raise
    if result.function_error is not None:
        function_error = _function_error(result)
        _record_task_failure(frame, function_error, base)
        raise function_error
    try:
        decoded = _decode(result, frame, state)
    except StatesError as error:
        _record_task_failure(frame, error, base)
        raise
    tail = isinstance(parameters, dict) and parameters.get("LogType") == "Tail"
    output = _invoke_response(result, decoded, frame.run.host.now(), tail)
    if submitted:
        return output
    frame.record(
        "TaskSucceeded",
        "taskSucceededEventDetails",
        {**base, "output": output, "outputDetails": NOT_TRUNCATED},
    )
    return output


def _record_task_failure(frame: Frame, error: StatesError, base: dict[str, str]) -> None:
    details: dict[str, JSON] = {**base, "error": error.name}
    if error.cause is not None:
        details["cause"] = error.cause
    frame.record("TaskFailed", "taskFailedEventDetails", details)


def _integration_arguments(parameters: JSON) -> tuple[str, JSON]:
    if not isinstance(parameters, dict) or not isinstance(parameters.get("FunctionName"), str):
        raise StatesError(
            "States.Runtime",
            "The field 'FunctionName' is required by the lambda:invoke integration and must be a string.",
        )
    function = str(parameters["FunctionName"])
    qualifier = parameters.get("Qualifier")
    if isinstance(qualifier, str) and qualifier:
        function = f"{function}:{qualifier}"
    payload = parameters.get("Payload")
    return function, {} if payload is None else payload


def _invoke_response(result: FunctionResult, payload: JSON, now: datetime, tail: bool) -> dict[str, JSON]:
    """The lambda:invoke result, shaped as Step Functions returns the Invoke API's answer; with
    ``LogType: Tail`` (``tail``) also the invocation's log tail, base64-encoded, as the Invoke API does."""
    length = str(len(result.payload))
    request_id = result.request_id
    date = format_datetime(now, usegmt=True)
    trace = f"Root=1-{int(now.timestamp()):08x}-{request_id.replace('-', '')[:24]:0<24}"
    all_headers: dict[str, JSON] = {
        "X-Amz-Executed-Version": [result.executed_version],
        "x-amzn-Remapped-Content-Length": ["0"],
        "Connection": ["keep-alive"],
        "x-amzn-RequestId": [request_id],
        "Content-Length": [length],
        "Date": [date],
        "X-Amzn-Trace-Id": [trace],
        "Content-Type": ["application/json"],
    }
    headers: dict[str, JSON] = {
        "Connection": "keep-alive",
        "Content-Length": length,
        "Content-Type": "application/json",
        "Date": date,
        "X-Amz-Executed-Version": result.executed_version,
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
        "X-Amzn-Trace-Id": trace,
    }
    output: dict[str, JSON] = {
        "ExecutedVersion": result.executed_version,
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": all_headers,
            "HttpHeaders": headers,
            "HttpStatusCode": result.status_code,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": result.status_code,
    }
    if tail:
        log = f"START RequestId: {request_id}\nEND RequestId: {request_id}\n"
        encoded = base64.b64encode(log.encode()).decode()
        output["LogResult"] = encoded
        all_headers["X-Amz-Log-Result"] = [encoded]
        headers["X-Amz-Log-Result"] = encoded
    return output
