"""Tasks waiting for tokens and nested executions in the interpreter, on an in-memory host that
implements the callback effects (answers come from a table), and Express's validation rules."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from statemachine import (
    JSON,
    FunctionCall,
    FunctionInvoker,
    FunctionResult,
    LocalHost,
    NestedExecution,
    NestedStart,
    StatesError,
    TokenWait,
    execute,
    execution_arn,
    execution_context,
    express_diagnostics,
    load_program,
)


async def echo(call: FunctionCall) -> FunctionResult:
    return FunctionResult(call.payload)


class WaitingHost(LocalHost):
    """A LocalHost whose tokens are answered at once from ``answers`` (by attempt), whose activities
    are queued in a list and whose child executions end as ``children`` says."""

    def __init__(
        self,
        answers: list[JSON | StatesError],
        children: dict[str, str] | None = None,
        invoker: FunctionInvoker = echo,
    ) -> None:
        super().__init__(invoker=invoker)
        self.answers = answers
        self.children = children or {}
        self.tokens: list[str] = []
        self.queued: list[tuple[str, str, str]] = []
        self.waits: list[TokenWait] = []
        self.closed: list[str] = []

    async def issue_task_token(self, state_name: str) -> str:
        self.tokens.append(f"token-{len(self.tokens) + 1}-{state_name}")
        return self.tokens[-1]

    async def wait_for_task_token(self, token: str, wait: TokenWait) -> JSON:
        self.waits.append(wait)
        if wait.on_started is not None:
            wait.on_started("worker-1")
        answer = self.answers.pop(0)
        if isinstance(answer, StatesError):
            raise answer
        return answer

    def close_task_token(self, token: str) -> None:
        self.closed.append(token)

    async def schedule_activity_task(self, activity_arn: str, token: str, input_text: str) -> None:
        self.queued.append((activity_arn, token, input_text))

    async def start_execution(self, request: NestedStart) -> NestedExecution:
        name = request.name or "child-1"
        arn = execution_arn(request.state_machine_arn.rsplit(":", 1)[1], name)
        return NestedExecution(arn, name, request.state_machine_arn, request.input_text, self.now())

    async def await_execution(
        self, execution: NestedExecution, timeout_seconds: float | None
    ) -> NestedExecution:
        status = self.children.get(execution.name, "SUCCEEDED")
        if status == "SUCCEEDED":
            return replace(execution, status=status, output_text='{"child": "done"}', stop_date=self.now())
        return replace(execution, status=status, error="Boom", cause="it broke", stop_date=self.now())


async def run(definition: dict[str, Any], host: WaitingHost, given: JSON = None) -> Any:
    context = execution_context("m", "e", datetime(2024, 1, 1))
    return await execute(load_program(definition), given or {}, context, host)


def task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, **fields, "End": True}}}


def types(host: WaitingHost) -> list[str]:
    return [e.type for e in host.history]


async def test_wait_for_task_token_calls_then_waits_with_the_token_in_the_context() -> None:
    host = WaitingHost([{"approved": True}])
    definition = task(
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        Parameters={"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
        HeartbeatSeconds=30,
    )
    outcome = await run(definition, host)
    assert outcome.output == {"approved": True}
    assert types(host)[2:7] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
    ]
    submitted = host.history[4].details or {}
    assert submitted["resource"] == "invoke.waitForTaskToken"
    assert submitted["output"]["Payload"] == {"token": "token-1-T"}  # type: ignore[index,call-overload]
    assert host.waits[0].heartbeat_seconds == 30 and host.waits[0].timeout_seconds == 99999999


async def test_each_attempt_waits_for_its_own_token_and_failures_reach_retry() -> None:
    host = WaitingHost([StatesError("Busy", "later"), {"ok": 2}])
    definition = task(
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        Parameters={"FunctionName": "f", "Payload": {"t.$": "$$.Task.Token"}},
        Retry=[{"ErrorEquals": ["Busy"], "IntervalSeconds": 1}],
    )
    outcome = await run(definition, host)
    assert outcome.output == {"ok": 2}
    assert host.tokens == ["token-1-T", "token-2-T"]
    failed = next(e for e in host.history if e.type == "TaskFailed")
    assert failed.details == {
        "resource": "invoke.waitForTaskToken",
        "resourceType": "lambda",
        "error": "Busy",
        "cause": "later",
    }


async def test_a_timed_out_wait_is_recorded_as_such() -> None:
    host = WaitingHost([StatesError("States.HeartbeatTimeout", None)])
    definition = task("arn:aws:states:::lambda:invoke.waitForTaskToken", Parameters={"FunctionName": "f"})
    outcome = await run(definition, host)
    assert outcome.error == "States.HeartbeatTimeout"
    assert "TaskTimedOut" in types(host)


async def test_an_activity_queues_its_input_and_token_then_waits() -> None:
    arn = "arn:aws:states:us-east-1:000000000000:activity:work"
    host = WaitingHost([{"done": 1}])
    outcome = await run(task(arn, TimeoutSeconds=20, Parameters={"n.$": "$.n"}), host, {"n": 4})
    assert outcome.output == {"done": 1}
    assert host.queued == [(arn, "token-1-T", '{"n":4}')]
    assert types(host)[2:6] == [
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
        "TaskStateExited",
    ]
    assert host.history[3].details == {"workerName": "worker-1"}
    assert host.waits[0].timeout_seconds == 20


@pytest.mark.parametrize(
    ("pattern", "output"),
    [
        (".sync:2", {"child": "done"}),
        (".sync", '{"child":"done"}'),
    ],
    ids=["sync2-json", "sync-text"],
)
async def test_sync_children_return_their_description(pattern: str, output: Any) -> None:
    host = WaitingHost([])
    definition = task(
        "arn:aws:states:::states:startExecution" + pattern,
        Parameters={
            "StateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:child",
            "Input": {"a": 1},
        },
    )
    outcome = await run(definition, host)
    assert outcome.output["Output"] == output
    assert outcome.output["Status"] == "SUCCEEDED" and isinstance(outcome.output["StartDate"], int)
    assert types(host)[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]


async def test_a_failed_sync_child_fails_the_task_with_its_description() -> None:
    host = WaitingHost([], {"kid": "FAILED"})
    definition = task(
        "arn:aws:states:::states:startExecution.sync:2",
        Parameters={
            "StateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:child",
            "Name": "kid",
        },
    )
    outcome = await run(definition, host)
    assert outcome.error == "States.TaskFailed"
    assert json.loads(outcome.cause)["Error"] == "Boom"


async def test_start_execution_without_a_machine_arn_is_a_runtime_error() -> None:
    outcome = await run(
        task("arn:aws:states:::states:startExecution", Parameters={"Input": {}}), WaitingHost([])
    )
    assert outcome.error == "States.Runtime" and "StateMachineArn" in outcome.cause


@pytest.mark.parametrize(
    ("resource", "flagged"),
    [
        ("arn:aws:states:::lambda:invoke.waitForTaskToken", True),
        ("arn:aws:states:::states:startExecution.sync:2", True),
        ("arn:aws:states:us-east-1:000000000000:activity:a", True),
        ("arn:aws:states:::lambda:invoke", False),
        ("arn:aws:states:::states:startExecution", False),
    ],
)
def test_express_machines_cannot_wait(resource: str, flagged: bool) -> None:
    nested = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
                ],
                "End": True,
            }
        },
    }
    found = express_diagnostics(nested)
    assert bool(found) is flagged
    if flagged:
        assert found[0].location == "/States/P/Branches/0/States/T/Resource"
        assert found[0].code == "SCHEMA_VALIDATION_FAILED"


async def test_a_child_name_stepline_cannot_take_is_refused() -> None:
    arn = "arn:aws:states:us-east-1:000000000000:stateMachine:child"
    definition = task(
        "arn:aws:states:::states:startExecution", Parameters={"StateMachineArn": arn, "Name": "a:b"}
    )
    outcome = await run(definition, WaitingHost([]))
    assert outcome.error == "StepFunctions.InvalidNameException"


async def test_jsonata_arguments_read_the_token_from_states_context() -> None:
    host = WaitingHost([{"ok": True}])
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Arguments": {"FunctionName": "f", "Payload": {"token": "{% $states.context.Task.Token %}"}},
                "End": True,
            }
        },
    }
    outcome = await run(definition, host)
    assert outcome.output == {"ok": True}
    scheduled = next(e for e in host.history if e.type == "TaskScheduled").details or {}
    assert scheduled["parameters"] == {"FunctionName": "f", "Payload": {"token": "token-1-T"}}


async def test_a_failed_call_closes_its_token_without_waiting() -> None:
    async def unavailable(call: FunctionCall) -> FunctionResult:
        raise StatesError("Lambda.ServiceException", "down")

    host = WaitingHost([], invoker=unavailable)
    definition = task("arn:aws:states:::lambda:invoke.waitForTaskToken", Parameters={"FunctionName": "f"})
    outcome = await run(definition, host)
    assert outcome.error == "Lambda.ServiceException"
    assert host.closed == ["token-1-T"] and host.waits == []
    assert "TaskSubmitted" not in types(host) and "TaskFailed" in types(host)
