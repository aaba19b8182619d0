"""Redrive: the resume point read from a failed attempt's history, and the redriven attempt run
from it (events continue the history; succeeded states are not run again)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from statemachine import load_program
from statemachine.host import FunctionCall, FunctionResult
from statemachine.interpreter import execute
from statemachine.json_types import JSON
from statemachine.local import LocalHost, execution_context, run_local
from statemachine.redrive import Resume, resume_point

MACHINE = {
    "QueryLanguage": "JSONata",
    "StartAt": "First",
    "States": {
        "First": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:count", "Next": "Second",
                  "Assign": {"seen": "{% $states.result %}"}},
        "Second": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:flaky", "End": True,
                   "Output": "{% {'first': $seen, 'second': $states.result, "
                             "'redrives': $states.context.Execution.RedriveCount} %}"},
    },
}  # fmt: skip


def invoker(calls: list[str], flaky_fails: bool) -> Any:
    async def invoke(call: FunctionCall) -> FunctionResult:
        name = call.function.rsplit(":", 1)[1]
        calls.append(name)
        if name == "flaky" and flaky_fails:
            body = {"errorType": "Broken", "errorMessage": "not yet"}
            return FunctionResult(json.dumps(body).encode(), function_error="Unhandled")
        return FunctionResult(json.dumps(name).encode())

    return invoke


async def test_a_redriven_attempt_resumes_at_the_failed_state() -> None:
    calls: list[str] = []
    failed = await run_local(MACHINE, {"n": 1}, invoker=invoker(calls, flaky_fails=True))
    assert (failed.outcome.status, calls) == ("FAILED", ["count", "flaky"])
    events = [e.to_json() for e in failed.history]
    program = load_program(MACHINE)
    resume = resume_point(program, events, {"n": 1}, 1)
    assert (resume.state, resume.variables, resume.last_event_id) == (
        "Second",
        {"seen": "count"},
        len(events),
    )
    assert Resume.from_json(resume.to_json()) == resume

    calls.clear()
    host = LocalHost(invoker=invoker(calls, flaky_fails=False), start_time=datetime(2026, 1, 1, tzinfo=UTC))
    context = execution_context("m", "e", host.now())
    outcome = await execute(program, {"n": 1}, context, host, resume=resume)
    assert (outcome.status, outcome.output, calls) == (
        "SUCCEEDED",
        {"first": "count", "second": "flaky", "redrives": 1},  # $$.Execution.RedriveCount
        ["flaky"],
    )
    redriven = host.history
    assert redriven[0].type == "ExecutionRedriven" and redriven[0].id == len(events) + 1
    assert redriven[0].details == {"redriveCount": 1}
    assert redriven[1].type == "TaskStateEntered" and redriven[1].previous_event_id == redriven[0].id
    assert [e.id for e in redriven] == list(range(len(events) + 1, len(events) + 1 + len(redriven)))


async def test_a_history_that_entered_no_state_resumes_at_the_start() -> None:
    program = load_program(MACHINE)
    started = [
        {"id": 1, "previousEventId": 0, "type": "ExecutionStarted"},
        {"id": 2, "type": "ExecutionFailed"},
    ]
    assert resume_point(program, started, {"x": 1}, 2) == Resume("First", {"x": 1}, {}, 2, 2)


def flaky_on(bad: set[int], calls: list[int]) -> Any:
    """A function echoing ``{"n": n}`` times ten; fails for the values in ``bad``."""

    async def invoke(call: FunctionCall) -> FunctionResult:
        n = json.loads(call.payload)["n"]
        calls.append(n)
        if n in bad:
            return FunctionResult(b'{"errorType": "Broken"}', function_error="Unhandled")
        return FunctionResult(json.dumps(n * 10).encode())

    return invoke


async def redriven(definition: dict[str, Any], input: Any, invoke: Any, failed_history: list[Any]) -> Any:
    program = load_program(definition)
    resume = resume_point(program, [e.to_json() for e in failed_history], input, 1)
    host = LocalHost(invoker=invoke, start_time=datetime(2026, 1, 1, tzinfo=UTC))
    return await execute(program, input, execution_context("m", "e", host.now()), host, resume=resume)


CALL = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": True}


async def test_a_redriven_map_runs_only_the_iterations_that_failed() -> None:
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "End": True,
        "ItemProcessor": {"StartAt": "Call", "States": {"Call": CALL}},
        "ItemSelector": {"n.$": "$$.Map.Item.Value"},
    }}}  # fmt: skip
    calls: list[int] = []
    input: JSON = {"items": [1, 2, 3]}
    failed = await run_local(definition, input, invoker=flaky_on({2}, calls))
    assert failed.outcome.status == "FAILED" and calls == [1, 2]
    resume = resume_point(load_program(definition), [e.to_json() for e in failed.history], input, 1)
    assert resume.done == {0: 10} and Resume.from_json(resume.to_json()) == resume
    calls.clear()
    outcome = await redriven(definition, input, flaky_on(set(), calls), failed.history)
    assert (outcome.status, outcome.output, calls) == ("SUCCEEDED", [10, 20, 30], [2, 3])


async def test_a_redriven_parallel_runs_only_the_branches_that_failed() -> None:
    def branch(n: int) -> dict[str, Any]:
        return {"StartAt": f"B{n}", "States": {f"B{n}": {**CALL, "Parameters": {"n": n}}}}

    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "End": True, "Branches": [branch(1), branch(2)]}},
    }
    calls: list[int] = []
    failed = await run_local(definition, {}, invoker=flaky_on({2}, calls))
    assert failed.outcome.status == "FAILED" and sorted(calls) == [1, 2]
    calls.clear()
    outcome = await redriven(definition, {}, flaky_on(set(), calls), failed.history)
    assert (outcome.status, outcome.output, calls) == ("SUCCEEDED", [10, 20], [2])
