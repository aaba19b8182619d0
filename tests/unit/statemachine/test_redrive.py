"""Redrive: the resume point read from a failed attempt's history, and the redriven attempt run
from it (events continue the history; succeeded states are not run again)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from statemachine import load_program
from statemachine.history import event_json
from statemachine.host import FunctionCall, FunctionResult
from statemachine.interpreter import execute
from statemachine.local import LocalHost, execution_context, run_local
from statemachine.redrive import Resume, resume_point

MACHINE = {
    "QueryLanguage": "JSONata",
    "StartAt": "First",
    "States": {
        "First": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:count", "Next": "Second",
                  "Assign": {"seen": "{% $states.result %}"}},
        "Second": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:flaky", "End": True,
                   "Output": "{% {'first': $seen, 'second': $states.result} %}"},
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
    events = [event_json(e) for e in failed.history]
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
        {"first": "count", "second": "flaky"},
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
