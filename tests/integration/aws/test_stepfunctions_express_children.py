"""EXPRESS child executions through unmodified boto3: a Distributed Map of ``ExecutionType: EXPRESS``
runs its children without a Temporal history per state (the parent's history holds one activity per
chunk, no Task of theirs), applies tolerance and map run counts as ever, and logs each child under
its Express ARN; ``states:startExecution`` of an EXPRESS machine starts an Express execution (queued,
or run to its end for ``.sync``/``.sync:2``, cancelled with its parent); an EXPRESS ItemProcessor
that waits is refused at its field."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import datetime
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from tests.integration.aws.conftest import refused
from tests.integration.aws.lambda_kit import create, lam, unique  # noqa: F401  (the lam fixture)
from tests.integration.aws.test_stepfunctions_executions import call, wait_done
from tests.integration.aws.test_stepfunctions_express import (  # noqa: F401  (the v1 fixture)
    EXPRESS_ARN,
    express,
    log_events,
    logging,
    v1,
)
from tests.integration.function_kit import requires_bwrap

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/StepFunctionsRole"
ITEMS = 200
CHILD_ARN = re.compile(
    r"arn:aws:states:us-east-1:\d{12}:express:[\w-]+:[\w-]+/Each:[0-9a-f-]{36}:\d+(-redrive-\d+)?"
)


def standard(sfn: Any, definition: dict[str, Any], **extra: Any) -> str:
    created = call(
        sfn, "CreateStateMachine", name=unique("p"), definition=json.dumps(definition), roleArn=ROLE, **extra
    )
    return str(created["stateMachineArn"])


def express_map(processor_states: dict[str, Any], start: str, **fields: Any) -> dict[str, Any]:
    each = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": start,
            "States": processor_states,
        },
        "End": True,
        **fields,
    }
    return {"StartAt": "Each", "States": {"Each": each}}


def temporal_history(address: str, execution_arn: str) -> list[tuple[str, str]]:
    """(event type, activity type or child workflow type) of the execution's Temporal history."""

    async def read() -> list[tuple[str, str]]:
        client = await Client.connect(address)
        history = await client.get_workflow_handle(execution_arn.split(":", 6)[6]).fetch_history()
        out: list[tuple[str, str]] = []
        for event in history.events:
            kind = event.WhichOneof("attributes") or ""
            attributes = getattr(event, kind) if kind else None
            named = getattr(attributes, "activity_type", None) or getattr(attributes, "workflow_type", None)
            out.append((kind, named.name if named is not None else ""))
        return out

    return asyncio.run(read())


@requires_bwrap
def test_an_express_distributed_map_invokes_a_function_per_item_outside_the_parents_history(
    sfn: Any,
    lam: Any,  # noqa: F811
    temporal_address: str,
) -> None:
    function = unique("fn")
    create(lam, function)
    task = {
        "Type": "Task",
        "Resource": f"arn:aws:lambda:us-east-1:000000000000:function:{function}",
        "ResultSelector": {"n.$": "$.echo.n"},
        "End": True,
    }
    parent = standard(sfn, express_map({"T": task}, "T", MaxConcurrency=8))
    items = [{"n": i} for i in range(ITEMS)]
    began = time.monotonic()
    started = call(sfn, "StartExecution", stateMachineArn=parent, input=json.dumps(items))
    done = wait_done(sfn, started["executionArn"], seconds=120)
    took = time.monotonic() - began
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == items
    history = call(sfn, "GetExecutionHistory", executionArn=done["executionArn"], maxResults=1000)["events"]
    kinds = [e["type"] for e in history]
    assert "TaskStateEntered" not in kinds and "LambdaFunctionScheduled" not in kinds
    map_run = next(e for e in history if e["type"] == "MapRunStarted")["mapRunStartedEventDetails"]
    described = call(sfn, "DescribeMapRun", mapRunArn=map_run["mapRunArn"])
    assert described["status"] == "SUCCEEDED"
    assert described["itemCounts"]["succeeded"] == ITEMS and described["itemCounts"]["total"] == ITEMS
    assert described["executionCounts"]["succeeded"] == ITEMS and described["executionCounts"]["failed"] == 0
    temporal = temporal_history(temporal_address, done["executionArn"])
    activities = [name for kind, name in temporal if kind == "activity_task_scheduled_event_attributes"]
    assert activities == ["run_express_chunk"], activities  # 200 items: one chunk, no Task activity
    assert not any(kind.startswith("start_child_workflow") for kind, _ in temporal)
    assert len(temporal) < 60, (len(temporal), took)


def test_tolerated_failures_of_express_children_and_their_logs(sfn: Any, v1: httpx.Client) -> None:  # noqa: F811
    processor = {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.bad", "BooleanEquals": True, "Next": "Fail"}],
            "Default": "Fine",
        },
        "Fail": {"Type": "Fail", "Error": "Bad", "Cause": "a bad item"},
        "Fine": {"Type": "Pass", "End": True},
    }
    group = unique("g")
    config = logging("ALL", group)
    items = [{"n": i, "bad": i % 10 == 3} for i in range(ITEMS)]
    tolerant = standard(
        sfn, express_map(processor, "Check", ToleratedFailureCount=20), loggingConfiguration=config
    )
    done = wait_done(
        sfn,
        call(sfn, "StartExecution", stateMachineArn=tolerant, input=json.dumps(items))["executionArn"],
        seconds=60,
    )
    assert done["status"] == "SUCCEEDED", done
    runs = call(sfn, "ListMapRuns", executionArn=done["executionArn"])["mapRuns"]
    described = call(sfn, "DescribeMapRun", mapRunArn=runs[0]["mapRunArn"])
    assert (described["itemCounts"]["succeeded"], described["itemCounts"]["failed"]) == (180, 20)
    assert described["executionCounts"]["failed"] == 20
    code, message = refused(sfn.list_executions, mapRunArn=runs[0]["mapRunArn"])  # kept nowhere: logged
    assert code == "StateMachineTypeNotSupported" and "execution logs" in message, message
    missing = runs[0]["mapRunArn"].rsplit(":", 1)[0] + ":00000000-0000-0000-0000-000000000000"
    assert refused(sfn.list_executions, mapRunArn=missing)[0] == "ResourceNotFound"
    failed_child = f"{runs[0]['mapRunArn'].replace(':mapRun:', ':express:')}:3"
    assert CHILD_ARN.fullmatch(failed_child), failed_child
    logged = log_events(v1, "ExecutionFailed", executionArn=failed_child)
    assert [e["type"] for e in logged] == [
        "ExecutionStarted",
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "FailStateEntered",
        "ExecutionFailed",
    ]
    assert logged[-1]["details"]["error"] == "Bad"
    fine = log_events(v1, "ExecutionSucceeded", executionArn=failed_child[:-1] + "4")
    assert json.loads(fine[-1]["details"]["output"]) == {"n": 4, "bad": False}
    strict = standard(sfn, express_map(processor, "Check", ToleratedFailureCount=5))
    failed = wait_done(
        sfn,
        call(sfn, "StartExecution", stateMachineArn=strict, input=json.dumps(items))["executionArn"],
        seconds=60,
    )
    assert failed["status"] == "FAILED" and failed["error"] == "States.ExceedToleratedFailureThreshold"
    map_run = call(sfn, "ListMapRuns", executionArn=failed["executionArn"])["mapRuns"][0]
    assert call(sfn, "DescribeMapRun", mapRunArn=map_run["mapRunArn"])["status"] == "FAILED"


def test_an_express_item_processor_that_waits_is_refused_at_its_field(sfn: Any) -> None:
    waiting = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"},
        "End": True,
    }
    code, message = refused(
        sfn.create_state_machine,
        name=unique("bad"),
        definition=json.dumps(express_map({"Wait": waiting}, "Wait")),
        roleArn=ROLE,
    )
    assert code == "InvalidDefinition"
    assert "/States/Each/ItemProcessor/States/Wait/Resource" in message and "'.sync'" in message, message


def test_nested_executions_of_an_express_machine_are_express_executions(sfn: Any, v1: httpx.Client) -> None:  # noqa: F811
    child = express(
        sfn,
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"got.$": "$.n"}, "End": True}}},
        logging("ALL", unique("g")),
    )
    start = "arn:aws:states:::states:startExecution"
    definition = {
        "StartAt": "Sync2",
        "States": {
            "Sync2": {
                "Type": "Task",
                "Resource": f"{start}.sync:2",
                "Parameters": {"StateMachineArn": child, "Input": {"n": 1}},
                "ResultPath": "$.sync2",
                "Next": "Sync",
            },
            "Sync": {
                "Type": "Task",
                "Resource": f"{start}.sync",
                "Parameters": {"StateMachineArn": child, "Input": {"n": 2}, "Name": "named"},
                "ResultPath": "$.sync",
                "Next": "Fire",
            },
            "Fire": {
                "Type": "Task",
                "Resource": start,
                "Parameters": {"StateMachineArn": child, "Input": {"n": 3}},
                "ResultPath": "$.fired",
                "End": True,
            },
        },
    }
    done = wait_done(
        sfn, call(sfn, "StartExecution", stateMachineArn=standard(sfn, definition))["executionArn"]
    )
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    sync2, sync = output["sync2"], output["sync"]
    assert sync2["Output"] == {"got": 1} and sync2["Status"] == "SUCCEEDED" and sync2["Input"] == {"n": 1}
    assert EXPRESS_ARN.fullmatch(sync2["ExecutionArn"]), sync2
    assert sync2["StateMachineArn"] == child and sync2["StopDate"] >= sync2["StartDate"]
    assert sync["Output"] == json.dumps({"got": 2}, separators=(",", ":")) and sync["Name"] == "named"
    assert EXPRESS_ARN.fullmatch(sync["ExecutionArn"]), sync
    fired = output["fired"]
    assert EXPRESS_ARN.fullmatch(fired["ExecutionArn"]) and set(fired) == {"ExecutionArn", "StartDate"}
    logged = log_events(v1, "ExecutionSucceeded", executionArn=fired["ExecutionArn"])
    assert json.loads(logged[-1]["details"]["output"]) == {"got": 3}  # it ran, asynchronously
    for arn in (sync2["ExecutionArn"], fired["ExecutionArn"]):  # kept nowhere, as AWS's
        code, _ = refused(sfn.describe_execution, executionArn=arn)
        assert code == "InvalidArn"
    assert log_events(v1, "ExecutionSucceeded", executionArn=sync2["ExecutionArn"])  # logged, though


def test_an_express_child_answers_its_parents_token(sfn: Any, v1: httpx.Client) -> None:  # noqa: F811
    group = unique("g")
    child = express(
        sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, logging("ALL", group)
    )
    ask = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Parameters": {"StateMachineArn": child, "Input": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    started = call(
        sfn, "StartExecution", stateMachineArn=standard(sfn, {"StartAt": "Ask", "States": {"Ask": ask}})
    )
    logged = log_events(v1, "ExecutionSucceeded", logGroup=f"/aws/vendedlogs/states/{group}")
    token = json.loads(logged[-1]["details"]["output"])["token"]
    call(sfn, "SendTaskSuccess", taskToken=token, output=json.dumps({"answer": 42}))
    assert json.loads(wait_done(sfn, started["executionArn"])["output"]) == {"answer": 42}


def test_stopping_the_parent_cancels_its_sync_express_child(sfn: Any, v1: httpx.Client) -> None:  # noqa: F811
    child = express(
        sfn,
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 120, "End": True}}},
        logging("ALL", unique("g")),
    )
    run = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": child},
        "End": True,
    }
    parent = standard(sfn, {"StartAt": "Run", "States": {"Run": run}})
    started = call(sfn, "StartExecution", stateMachineArn=parent)["executionArn"]
    history: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while not any(e["type"] == "TaskSubmitted" for e in history):
        assert time.monotonic() < deadline, history
        time.sleep(0.05)
        history = call(sfn, "GetExecutionHistory", executionArn=started)["events"]
    submitted = next(e for e in history if e["type"] == "TaskSubmitted")["taskSubmittedEventDetails"]
    child_arn = json.loads(submitted["output"])["ExecutionArn"]
    log_events(v1, "WaitStateEntered", executionArn=child_arn)  # it runs
    call(sfn, "StopExecution", executionArn=started, error="Halt", cause="operator")
    assert wait_done(sfn, started)["status"] == "ABORTED"
    aborted = log_events(v1, "ExecutionAborted", seconds=30, executionArn=child_arn)
    assert aborted[-1]["type"] == "ExecutionAborted"


ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})
FLAKY = """import os


def handler(event, context):
    if event["bad"] and not os.environ.get("FIXED"):
        raise ValueError(f"item {event['n']} is bad")
    return {"n": event["n"]}
"""


def child_runs(v1: httpx.Client, machine: str, map_run: str) -> dict[str, list[str]]:  # noqa: F811
    """The log event types of each Express child of ``map_run`` (by name: its index, or
    ``INDEX-redrive-N`` when a redrive ran it again), from the parent's logs."""
    prefix = map_run.replace(":mapRun:", ":express:") + ":"
    found: dict[str, list[tuple[int, str]]] = {}
    token: str | None = None
    while True:
        params: dict[str, Any] = {"stateMachine": machine, "limit": 1000}
        if token:
            params["nextToken"] = token
        answer = v1.get("/v1/execution-logs", params=params).json()
        for event in answer["events"]:
            arn = event["message"]["execution_arn"]
            if arn.startswith(prefix):
                message = event["message"]
                found.setdefault(arn[len(prefix) :], []).append((int(message["id"]), message["type"]))
        token = answer.get("nextToken")
        if not token:
            return {name: [kind for _, kind in sorted(events)] for name, events in found.items()}


@requires_bwrap
def test_a_redrive_reruns_only_the_express_children_that_did_not_succeed(
    sfn: Any,
    lam: Any,  # noqa: F811
    v1: httpx.Client,  # noqa: F811
) -> None:
    """An EXPRESS Distributed Map fails past its tolerance (item 5's function raises); the function
    is fixed and the execution redriven: the same map run (same ARN, redriveCount 1, redriveDate,
    the only one listed) runs again, as new Express executions (``INDEX-redrive-1``), only the
    children that had not succeeded, and the execution succeeds with every item's output. Each
    child saw its own ``$$.Execution`` (ARN, name, input), the ARN its logs are under."""
    function = unique("fn")
    create(lam, function, {"app.py": FLAKY})
    call_it = {
        "Type": "Task",
        "Resource": f"arn:aws:lambda:us-east-1:000000000000:function:{function}",
        "Next": "Look",
    }
    look = {
        "Type": "Pass",
        "Parameters": {
            "n.$": "$.n",
            "id.$": "$$.Execution.Id",
            "name.$": "$$.Execution.Name",
            "input.$": "$$.Execution.Input",
            "start.$": "$$.Execution.StartTime",
        },
        "End": True,
    }
    definition = express_map({"Call": call_it, "Look": look}, "Call", MaxConcurrency=2)
    parent = standard(sfn, definition, loggingConfiguration=logging("ALL", unique("g")))
    machine = parent.rsplit(":", 1)[-1]
    items = [{"n": i, "bad": i == 5} for i in range(30)]
    started = call(sfn, "StartExecution", stateMachineArn=parent, input=json.dumps(items))["executionArn"]
    failed = wait_done(sfn, started, seconds=60)
    assert (failed["status"], failed["redriveStatus"]) == ("FAILED", "REDRIVABLE"), failed
    (run,) = call(sfn, "ListMapRuns", executionArn=started)["mapRuns"]
    arn = run["mapRunArn"]
    before = call(sfn, "DescribeMapRun", mapRunArn=arn)
    assert (before["status"], before["redriveCount"], before["executionCounts"]["failed"]) == ("FAILED", 0, 1)
    assert "redriveDate" not in before
    deadline = time.monotonic() + 20
    while True:  # the log rows arrive in batches: every child of the failed attempt has ended
        first = child_runs(v1, machine, arn)
        if first and all(kinds[-1] in ENDS for kinds in first.values()):
            break
        assert time.monotonic() < deadline, first
        time.sleep(0.1)
    succeeded_first = {int(name) for name, kinds in first.items() if kinds[-1] == "ExecutionSucceeded"}
    assert succeeded_first and 5 not in succeeded_first, first  # (one in flight then: aborted)
    assert before["executionCounts"]["succeeded"] == len(succeeded_first), before
    lam.update_function_configuration(FunctionName=function, Environment={"Variables": {"FIXED": "1"}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=function)
    call(sfn, "RedriveExecution", executionArn=started)
    done = wait_done(sfn, started, seconds=60)
    assert (done["status"], done["redriveCount"]) == ("SUCCEEDED", 1), done
    assert [r["mapRunArn"] for r in call(sfn, "ListMapRuns", executionArn=started)["mapRuns"]] == [arn]
    after = call(sfn, "DescribeMapRun", mapRunArn=arn)
    assert (after["status"], after["redriveCount"], after["startDate"]) == (
        "SUCCEEDED",
        1,
        before["startDate"],
    )
    assert after["redriveDate"] >= before["stopDate"], after
    assert after["executionCounts"] == {
        "pending": 0, "running": 0, "succeeded": 30, "failed": 0, "timedOut": 0, "aborted": 0,
        "total": 30, "resultsWritten": 0, "failuresNotRedrivable": 0, "pendingRedrive": 0,
    }  # fmt: skip
    history = call(sfn, "GetExecutionHistory", executionArn=started, maxResults=1000)["events"]
    redriven = [e["mapRunRedrivenEventDetails"] for e in history if e["type"] == "MapRunRedriven"]
    assert redriven == [{"mapRunArn": arn, "redriveCount": 1}]
    again = {f"{i}-redrive-1" for i in set(range(30)) - succeeded_first}  # new Express executions
    deadline = time.monotonic() + 20
    while True:
        runs = child_runs(v1, machine, arn)
        if all(runs.get(name, [""])[-1] == "ExecutionSucceeded" for name in again):
            break
        assert time.monotonic() < deadline, runs
        time.sleep(0.1)
    assert set(runs) == set(first) | again, runs  # a child that succeeded is not run again
    assert first["5"][-1] == "ExecutionFailed" and runs["5"] == first["5"]
    assert all(kinds.count("ExecutionStarted") == 1 for kinds in runs.values())
    output = json.loads(done["output"])
    assert [o["n"] for o in output] == list(range(30))
    for i, o in enumerate(output):  # each child's own $$.Execution: the ARN its logs are under
        name = str(i) if i in succeeded_first else f"{i}-redrive-1"
        assert o["id"] == f"{arn.replace(':mapRun:', ':express:')}:{name}" and CHILD_ARN.fullmatch(o["id"]), o
        assert (o["name"], o["input"]) == (name, items[i]), o
        assert datetime.fromisoformat(o["start"].replace("Z", "+00:00")) >= done["startDate"], o


def test_an_express_childs_events_are_logged_while_it_runs(sfn: Any, v1: httpx.Client) -> None:  # noqa: F811
    """A child's events reach the logs as it runs (every 0.2 s), not only once it ends."""
    processor = {"Pause": {"Type": "Wait", "Seconds": 2, "End": True}}
    parent = standard(sfn, express_map(processor, "Pause"), loggingConfiguration=logging("ALL", unique("g")))
    started = call(sfn, "StartExecution", stateMachineArn=parent, input=json.dumps([{"n": 0}]))
    deadline = time.monotonic() + 20
    while not (runs := call(sfn, "ListMapRuns", executionArn=started["executionArn"])["mapRuns"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = f"{runs[0]['mapRunArn'].replace(':mapRun:', ':express:')}:0"
    waiting = log_events(v1, "WaitStateEntered", executionArn=child)
    assert [e["type"] for e in waiting] == ["ExecutionStarted", "WaitStateEntered"]
    assert call(sfn, "DescribeExecution", executionArn=started["executionArn"])["status"] == "RUNNING"
    assert wait_done(sfn, started["executionArn"])["status"] == "SUCCEEDED"
    ended = log_events(v1, "ExecutionSucceeded", executionArn=child)
    assert [e["type"] for e in ended][-2:] == ["WaitStateExited", "ExecutionSucceeded"]
