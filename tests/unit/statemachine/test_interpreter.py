"""The interpreter end to end on the local host: data flow, errors, Retry/Catch, history."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest

from statemachine.history import event_json
from statemachine.host import FunctionCall, FunctionResult
from statemachine.limits import Limits
from statemachine.local import LocalRun, run_local


def machine(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    return {"StartAt": states[0][0], "States": dict(states), **top}


def types(run: LocalRun) -> list[str]:
    return [event.type for event in run.history]


async def test_pass_chain_parameters_and_result_path() -> None:
    run = await run_local(
        machine(
            ("A", {"Type": "Pass", "Parameters": {"v.$": "$.x", "k": 1}, "ResultPath": "$.r", "Next": "B"}),
            (
                "B",
                {"Type": "Pass", "InputPath": "$.r", "ResultPath": "$.copy", "OutputPath": "$.copy"}
                | {"End": True},
            ),
        ),
        {"x": 7},
    )
    assert run.outcome.status == "SUCCEEDED"
    assert run.outcome.output == {"v": 7, "k": 1}
    assert types(run) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert [e.id for e in run.history] == [1, 2, 3, 4, 5, 6]
    assert [e.previous_event_id for e in run.history] == [0, 0, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"Type": "Pass", "Result": 1, "ResultPath": None}, {"a": 1}),
        ({"Type": "Pass", "Result": 1, "ResultPath": "$.b.c"}, {"a": 1, "b": {"c": 1}}),
        ({"Type": "Pass", "InputPath": None}, {}),
        ({"Type": "Pass", "OutputPath": None}, {}),
        ({"Type": "Pass"}, {"a": 1}),
    ],
    ids=["result-path-null", "result-path-nested", "input-path-null", "output-path-null", "identity"],
)
async def test_result_and_io_paths(state: dict[str, Any], expected: Any) -> None:
    run = await run_local(machine(("S", state | {"End": True})), {"a": 1})
    assert run.outcome.output == expected


async def test_invalid_input_path_fails_with_aws_message() -> None:
    run = await run_local(machine(("P", {"Type": "Pass", "InputPath": "$.nope", "End": True})), {"a": 1})
    assert run.outcome.status == "FAILED"
    assert run.outcome.error == "States.Runtime"
    assert run.outcome.cause == (
        "An error occurred while executing the state 'P' (entered at the event id #2). "
        "Invalid path '$.nope' : No results for path: $['nope']"
    )


async def test_choice_default_and_no_match() -> None:
    definition = machine(
        ("C", {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}]}),
        ("Big", {"Type": "Succeed"}),
    )
    assert (await run_local(definition, {"n": 2})).outcome.status == "SUCCEEDED"
    failed = await run_local(definition, {"n": 0})
    assert (failed.outcome.status, failed.outcome.error) == ("FAILED", "States.NoChoiceMatched")


async def test_endless_choice_loop_stops_at_history_limit() -> None:
    definition = machine(
        (
            "C",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "IsPresent": True, "Next": "C"}],
                "Default": "D",
            },
        ),
        ("D", {"Type": "Succeed"}),
    )
    run = await run_local(definition, {"n": 1}, limits=Limits(max_history_events=500))
    assert (run.outcome.status, run.outcome.error) == ("FAILED", "States.Runtime")
    assert "500" in (run.outcome.cause or "")
    assert len(run.history) == 501


async def test_wait_uses_the_host_clock() -> None:
    definition = machine(
        ("W", {"Type": "Wait", "Seconds": 3600, "Next": "T"}),
        ("T", {"Type": "Wait", "TimestampPath": "$.until", "End": True}),
    )
    run = await run_local(definition, {"until": "2024-01-01T05:00:00Z"})
    assert run.outcome.status == "SUCCEEDED"
    assert run.history[-1].timestamp.isoformat() == "2024-01-01T05:00:00+00:00"


@pytest.mark.parametrize(
    ("value", "message"),
    [(-1, "references a negative value"), (1.5, "cannot be parsed as a long value")],
    ids=["negative", "fraction"],
)
async def test_wait_seconds_path_rejects_bad_values(value: Any, message: str) -> None:
    run = await run_local(machine(("W", {"Type": "Wait", "SecondsPath": "$.s", "End": True})), {"s": value})
    assert run.outcome.error == "States.Runtime"
    assert message in (run.outcome.cause or "")


async def test_top_level_timeout_times_out() -> None:
    definition = machine(("W", {"Type": "Wait", "Seconds": 100, "End": True}), TimeoutSeconds=10)
    run = await run_local(definition, {})
    assert (run.outcome.status, run.outcome.error) == ("TIMED_OUT", "States.Timeout")
    assert types(run)[-1] == "ExecutionTimedOut"


def _invoker(behaviour: dict[str, Any]) -> Any:
    calls: list[FunctionCall] = []

    async def invoke(call: FunctionCall) -> FunctionResult:
        calls.append(call)
        action = behaviour.get(call.function.rsplit(":", 1)[-1], "identity")
        if action == "identity":
            return FunctionResult(call.payload, request_id="req-1")
        if action == "fail":
            body = {"errorType": "Boom", "errorMessage": "it broke", "requestId": "req-1", "stackTrace": []}
            return FunctionResult(json.dumps(body).encode(), function_error="Unhandled")
        if action == "sleep":
            await asyncio.sleep(60)
        raise AssertionError(action)

    invoke.calls = calls  # type: ignore[attr-defined]
    return invoke


async def test_lambda_arn_task_returns_decoded_payload() -> None:
    arn = "arn:aws:lambda:us-east-1:111111111111:function:echo"
    run = await run_local(
        machine(("T", {"Type": "Task", "Resource": arn, "End": True})), {"a": 1}, invoker=_invoker({})
    )
    assert run.outcome.output == {"a": 1}
    assert types(run)[2:6] == [
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
    ]


async def test_lambda_invoke_integration_wraps_result() -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "echo", "Payload.$": "$"},
        "End": True,
    }
    run = await run_local(machine(("T", state)), {"a": 1}, invoker=_invoker({}))
    output: Any = run.outcome.output
    assert output["Payload"] == {"a": 1}
    assert output["StatusCode"] == 200
    assert output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert output["SdkResponseMetadata"] == {"RequestId": "req-1"}
    assert types(run)[2:5] == ["TaskScheduled", "TaskStarted", "TaskSucceeded"]


async def test_function_error_is_named_by_error_type_and_caught() -> None:
    arn = "arn:aws:lambda:us-east-1:111111111111:function:bad"
    state = {
        "Type": "Task",
        "Resource": arn,
        "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "Done"}],
        "End": True,
    }
    run = await run_local(
        machine(("T", state), ("Done", {"Type": "Succeed"})), {"a": 1}, invoker=_invoker({"bad": "fail"})
    )
    assert run.outcome.status == "SUCCEEDED"
    output: Any = run.outcome.output
    error = output["err"]
    assert error["Error"] == "Boom"
    assert json.loads(error["Cause"])["errorMessage"] == "it broke"


async def test_retry_backs_off_then_fails_with_the_last_error() -> None:
    arn = "arn:aws:lambda:us-east-1:111111111111:function:bad"
    state = {
        "Type": "Task",
        "Resource": arn,
        "End": True,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 2}],
    }
    invoker = _invoker({"bad": "fail"})
    run = await run_local(machine(("T", state)), {}, invoker=invoker)
    assert (run.outcome.status, run.outcome.error) == ("FAILED", "Boom")
    assert len(invoker.calls) == 3
    failures = [e.timestamp for e in run.history if e.type == "LambdaFunctionFailed"]
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(failures)] == [2.0, 6.0]


async def test_max_attempts_zero_never_retries() -> None:
    arn = "arn:aws:lambda:us-east-1:111111111111:function:bad"
    state = {
        "Type": "Task",
        "Resource": arn,
        "End": True,
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}],
    }
    invoker = _invoker({"bad": "fail"})
    await run_local(machine(("T", state)), {}, invoker=invoker)
    assert len(invoker.calls) == 1


async def test_states_all_does_not_catch_runtime_errors() -> None:
    state = {
        "Type": "Parallel",
        "End": True,
        "Branches": [machine(("P", {"Type": "Pass", "InputPath": "$.nope", "End": True}))],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
    }
    run = await run_local(machine(("Par", state), ("Caught", {"Type": "Succeed"})), {})
    assert (run.outcome.status, run.outcome.error) == ("FAILED", "States.Runtime")


async def test_task_timeout_is_states_timeout_not_task_failed() -> None:
    arn = "arn:aws:lambda:us-east-1:111111111111:function:slow"
    state = {
        "Type": "Task",
        "Resource": arn,
        "TimeoutSeconds": 1,
        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}],
        "End": True,
    }
    run = await run_local(
        machine(("T", state), ("Caught", {"Type": "Succeed"})), {}, invoker=_invoker({"slow": "sleep"})
    )
    assert (run.outcome.status, run.outcome.error) == ("FAILED", "States.Timeout")
    assert "LambdaFunctionTimedOut" in types(run)


async def test_parallel_keeps_branch_order_and_a_failure_cancels_siblings() -> None:
    ok = machine(
        ("W", {"Type": "Wait", "Seconds": 5, "Next": "P"}), ("P", {"Type": "Pass", "Result": 1, "End": True})
    )
    fast = machine(("Q", {"Type": "Pass", "Result": 2, "End": True}))
    run = await run_local(machine(("Par", {"Type": "Parallel", "Branches": [ok, fast], "End": True})), {})
    assert run.outcome.output == [1, 2]
    failing = machine(("F", {"Type": "Fail", "Error": "Nope", "Cause": "because"}))
    run = await run_local(machine(("Par", {"Type": "Parallel", "Branches": [ok, failing], "End": True})), {})
    assert (run.outcome.status, run.outcome.error, run.outcome.cause) == ("FAILED", "Nope", "because")
    assert "WaitStateAborted" in types(run)
    assert "ParallelStateFailed" in types(run)


async def test_parallel_nested_fifty_deep() -> None:
    block: dict[str, Any] = machine(("P", {"Type": "Pass", "End": True}))
    for depth in range(50):
        block = machine((f"Par{depth}", {"Type": "Parallel", "Branches": [block], "End": True}))
    run = await run_local(block, {"x": 1})
    assert run.outcome.status == "SUCCEEDED"
    output: Any = run.outcome.output
    for _ in range(50):
        output = output[0]
    assert output == {"x": 1}


def _map(**fields: Any) -> dict[str, Any]:
    processor = machine(("P", {"Type": "Pass", "End": True}))
    return machine(("M", {"Type": "Map", "ItemProcessor": processor, "End": True} | fields))


async def test_map_item_selector_and_order() -> None:
    run = await run_local(
        _map(
            ItemsPath="$.items",
            ItemSelector={"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "k.$": "$.k"},
        ),
        {"items": ["a", "b"], "k": 1},
    )
    assert run.outcome.output == [{"v": "a", "i": 0, "k": 1}, {"v": "b", "i": 1, "k": 1}]
    assert types(run).count("MapIterationSucceeded") == 2


async def test_map_respects_max_concurrency() -> None:
    in_flight = peak = 0

    async def invoke(call: FunctionCall) -> FunctionResult:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        return FunctionResult(call.payload)

    task = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f", "End": True}
    definition = machine(
        ("M", {"Type": "Map", "MaxConcurrency": 3, "End": True, "ItemProcessor": machine(("T", task))})
    )
    run = await run_local(definition, list(range(20)), invoker=invoke)
    assert run.outcome.output == list(range(20))
    assert peak == 3


async def test_map_tolerated_failures() -> None:
    processor = machine(
        (
            "C",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "F"}],
                "Default": "P",
            },
        ),
        ("F", {"Type": "Fail", "Error": "One"}),
        ("P", {"Type": "Pass", "End": True}),
    )
    base = {"Type": "Map", "ItemProcessor": processor, "End": True}
    tolerated = await run_local(machine(("M", base | {"ToleratedFailureCount": 1})), [0, 1, 2])
    assert tolerated.outcome.status == "SUCCEEDED"
    output: Any = tolerated.outcome.output
    assert output[0] == 0 and output[1]["Error"] == "One"
    exceeded = await run_local(machine(("M", base | {"ToleratedFailurePercentage": 10})), [0, 1, 2])
    assert exceeded.outcome.error == "States.ExceedToleratedFailureThreshold"
    strict = await run_local(machine(("M", base)), [0, 1, 2])
    assert strict.outcome.error == "One"


async def test_map_over_too_many_items_fails_cleanly() -> None:
    run = await run_local(
        machine(
            ("R", {"Type": "Pass", "Parameters": {"items.$": "States.ArrayRange(1, 1000, 1)"}, "Next": "M"}),
            ("M", _map(ItemsPath="$.items")["States"]["M"]),
        ),
        {},
        limits=Limits(max_map_items=100),
    )
    assert (run.outcome.status, run.outcome.error) == ("FAILED", "States.DataLimitExceeded")


async def test_map_results_count_their_utf8_bytes_towards_the_payload_limit() -> None:
    processor = machine(("P", {"Type": "Pass", "Result": {"v": "é" * 20}, "End": True}))
    state = {"Type": "Map", "ItemProcessor": processor, "ResultPath": None, "End": True}
    limits = Limits(max_payload_bytes=200)  # five results: 140 characters, 240 bytes
    under = await run_local(machine(("M", state)), [1, 2, 3, 4], limits=limits)
    over = await run_local(machine(("M", state)), [1, 2, 3, 4, 5], limits=limits)
    assert under.outcome.status == "SUCCEEDED"
    assert (over.outcome.status, over.outcome.error) == ("FAILED", "States.DataLimitExceeded")


async def test_state_output_over_the_payload_limit_fails() -> None:
    grow = {"Type": "Pass", "Parameters": {"s.$": "States.Format('{}{}', $.s, $.s)"}, "Next": "C"}
    loop = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.s", "IsPresent": True, "Next": "G"}],
        "Default": "D",
    }
    run = await run_local(machine(("G", grow), ("C", loop), ("D", {"Type": "Succeed"})), {"s": "ab"})
    assert (run.outcome.status, run.outcome.error) == ("FAILED", "States.DataLimitExceeded")


async def test_variables_are_scoped_to_branches() -> None:
    inner = machine(
        ("In", {"Type": "Pass", "Assign": {"inner": 2}, "Parameters": {"seen.$": "$outer"}, "End": True})
    )
    definition = machine(
        ("Set", {"Type": "Pass", "Assign": {"outer": 1}, "Next": "Par"}),
        ("Par", {"Type": "Parallel", "Branches": [inner], "Next": "Check"}),
        ("Check", {"Type": "Pass", "Parameters": {"outer.$": "$outer", "branch.$": "$[0]"}, "End": True}),
    )
    run = await run_local(definition, {})
    assert run.outcome.output == {"outer": 1, "branch": {"seen": 1}}
    leaked = {"Type": "Pass", "Parameters": {"x.$": "$inner"}, "End": True}
    check = await run_local(definition | {"States": definition["States"] | {"Check": leaked}}, {})
    assert check.outcome.error == "States.Runtime"


async def test_jsonata_state_with_assign_and_output() -> None:
    definition = machine(
        (
            "A",
            {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Assign": {"total": "{% $states.input.a + 1 %}"},
                "Output": {"doubled": "{% $states.input.a * 2 %}"},
                "Next": "B",
            },
        ),
        ("B", {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $total %}", "End": True}),
    )
    run = await run_local(definition, {"a": 3})
    assert run.outcome.output == 4
    exited = next(e for e in run.history if e.type == "PassStateExited")
    assert exited.details is not None and exited.details["assignedVariables"] == {"total": "4"}


async def test_cancellation_propagates() -> None:
    task = asyncio.ensure_future(
        run_local(machine(("W", {"Type": "Wait", "Seconds": 10, "End": True})), {}, virtual_time=False)
    )
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_history_links_and_aws_text_fields() -> None:
    run = await run_local(_map(ItemsPath="$.items"), {"items": [1, 2]})
    links = [(e.type, e.id, e.previous_event_id) for e in run.history]
    assert links == [
        ("ExecutionStarted", 1, 0),
        ("MapStateEntered", 2, 0),
        ("MapStateStarted", 3, 2),
        ("MapIterationStarted", 4, 3),
        ("PassStateEntered", 5, 4),
        ("PassStateExited", 6, 5),
        ("MapIterationSucceeded", 7, 6),
        ("MapIterationStarted", 8, 6),
        ("PassStateEntered", 9, 8),
        ("PassStateExited", 10, 9),
        ("MapIterationSucceeded", 11, 10),
        ("MapStateSucceeded", 12, 11),
        ("MapStateExited", 13, 11),
        ("ExecutionSucceeded", 14, 13),
    ]
    started: Any = event_json(run.history[0])
    assert started["executionStartedEventDetails"]["input"] == '{"items":[1,2]}'


async def test_intrinsic_failure_names_the_state() -> None:
    state = {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.a, 1)"}, "End": True}
    run = await run_local(machine(("Add", state)), {"a": "not a number"})
    assert run.outcome.error == "States.IntrinsicFailure"
    assert (run.outcome.cause or "").startswith(
        "An error occurred while executing the state 'Add' (entered at the event id #2)."
    )


async def test_catch_assign_and_jsonata_error_output() -> None:
    arn = "arn:aws:lambda:us-east-1:111111111111:function:bad"
    state = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": arn,
        "End": True,
        "Catch": [
            {
                "ErrorEquals": ["States.ALL"],
                "Next": "After",
                "Assign": {"failure": "{% $states.errorOutput.Error %}"},
                "Output": {"input": "{% $states.input %}"},
            }
        ],
    }
    after = {
        "Type": "Pass",
        "QueryLanguage": "JSONata",
        "Output": {"failure": "{% $failure %}", "was": "{% $states.input %}"},
        "End": True,
    }
    run = await run_local(
        machine(("T", state), ("After", after)), {"k": 1}, invoker=_invoker({"bad": "fail"})
    )
    assert run.outcome.output == {"failure": "Boom", "was": {"input": {"k": 1}}}


async def test_map_items_from_jsonata() -> None:
    definition = machine(
        (
            "M",
            {
                "Type": "Map",
                "QueryLanguage": "JSONata",
                "Items": "{% $states.input.xs %}",
                "ItemProcessor": machine(("P", {"Type": "Pass", "End": True})),
                "End": True,
            },
        )
    )
    run = await run_local(definition, {"xs": [1, 2, 3]})
    assert run.outcome.output == [1, 2, 3]
    bad = await run_local(definition, {"xs": 5})
    assert bad.outcome.error == "States.QueryEvaluationError"
    assert "EvaluationFailed" in types(bad)


def _distributed(**fields: Any) -> dict[str, Any]:
    processor = machine(("P", {"Type": "Pass", "End": True})) | {"ProcessorConfig": {"Mode": "DISTRIBUTED"}}
    return machine(("M", {"Type": "Map", "ItemProcessor": processor, "End": True} | fields))


async def test_item_batcher_groups_items_and_readers_without_s3_fail_clearly() -> None:
    batcher = {"MaxItemsPerBatch": 2, "BatchInput": {"k": 1}}
    batched = await run_local(_distributed(ItemBatcher=batcher), [1, 2, 3])
    assert batched.outcome.output == [
        {"BatchInput": {"k": 1}, "Items": [1, 2]},
        {"BatchInput": {"k": 1}, "Items": [3]},
    ]
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "b", "Key": "k"},
    }
    run = await run_local(_distributed(ItemReader=reader), [])
    assert run.outcome.error == "States.ItemReaderFailed"  # the local host calls no services
    assert "States.TaskFailed" in (run.outcome.cause or "")


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "arn:aws:states:us-east-1:111111111111:activity:a",
    ],
    ids=["callback", "activity"],
)
async def test_tasks_waiting_for_a_token_fail_clearly_where_nothing_can_wait(resource: str) -> None:
    """The local host (synchronous Express executions) has no durable waits, as AWS's Express has none."""
    run = await run_local(machine(("T", {"Type": "Task", "Resource": resource, "End": True})), {})
    assert run.outcome.error == "States.Runtime"
    assert "only Standard executions" in (run.outcome.cause or "")


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"s": "é" * 10}, len('{"s":""}') + 20),  # UTF-8 bytes, not characters
        ([2**70, 1], len(f"[{2**70},1]")),  # beyond orjson's 64 bits: json counts it
        ("x" * 50, 50),  # a string counts as its text
    ],
    ids=["multi-byte", "huge-int", "string"],
)
def test_size_limit_counts_compact_utf8_bytes_exactly(value: Any, size: int) -> None:
    from statemachine.dataflow import check_size
    from statemachine.errors import StatesError

    check_size(value, size, "S")
    with pytest.raises(StatesError, match="'S' returned a result with a size exceeding"):
        check_size(value, size - 1, "S")
