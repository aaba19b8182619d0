"""``statemachine.inspect`` and ``statemachine.history_reading``: each state's stages, recomputed from a
real run's history with the interpreter's code, match what the run recorded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from statemachine import FunctionCall, FunctionResult, load_program, run_local
from statemachine.errors import StatesError
from statemachine.history_reading import (
    NotAStateEntry,
    map_iteration_events,
    map_iterations,
    parallel_branches,
    state_story,
)
from statemachine.inspect import StateWork, find_state, inspect_state, work_of
from statemachine.ir import Parallel
from statemachine.json_types import JSON
from statemachine.local import DEFAULT_START, execution_context

FN = "arn:aws:lambda:us-east-1:123456789012:function:work"


def replying(*payloads: Any) -> Any:
    """An invoker answering the payloads in turn (an Exception: a function error of that type)."""
    queue = list(payloads)

    async def invoke(call: FunctionCall) -> FunctionResult:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            body = {"errorType": type(answer).__name__, "errorMessage": str(answer)}
            return FunctionResult(json.dumps(body).encode(), function_error="Unhandled")
        return FunctionResult(json.dumps(answer).encode())

    return invoke


async def run(definition: dict[str, Any], input: JSON, invoker: Any = None) -> list[dict[str, Any]]:
    result = await run_local(definition, input, invoker=invoker)
    return [event.to_json() for event in result.history]


def entered(events: list[dict[str, Any]], name: str, nth: int = 0) -> int:
    ids = [
        e["id"]
        for e in events
        if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == name
    ]
    return int(ids[nth])


def inspect(
    definition: dict[str, Any], events: list[dict[str, Any]], name: str, nth: int = 0, **kw: Any
) -> Any:
    story = state_story(events, entered(events, name, nth))
    program = load_program(json.dumps(definition))
    state = find_state(program.block, name)
    assert state is not None
    work = work_of(state, story)
    context = execution_context("sm", "run", DEFAULT_START)
    return story, inspect_state(
        state, work, context, events[0]["executionStartedEventDetails"]["input"], **kw
    )


def stages(inspection: Any) -> dict[str, Any]:
    return {s.name: s.value for s in inspection.stages}


TASK = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": FN,
            "InputPath": "$.order",
            "Parameters": {"id.$": "$.id", "fixed": 1},
            "ResultSelector": {"total.$": "$.sum"},
            "ResultPath": "$.charge",
            "OutputPath": "$.charge",
            "Assign": {"paid.$": "$.total"},
            "End": True,
        }
    },
}


async def test_a_jsonpath_task_shows_every_stage_and_the_recorded_output() -> None:
    events = await run(TASK, {"order": {"id": 7, "x": 1}}, replying({"sum": 12, "noise": True}))
    story, inspection = inspect(TASK, events, "Work")
    assert stages(inspection) == {
        "input": {"order": {"id": 7, "x": 1}},
        "afterInputPath": {"id": 7, "x": 1},
        "afterParameters": {"id": 7, "fixed": 1},
        "result": {"sum": 12, "noise": True},
        "afterResultSelector": {"total": 12},
        "afterResultPath": {"order": {"id": 7, "x": 1}, "charge": {"total": 12}},
        "output": {"total": 12},
    }
    assert inspection.status == "SUCCEEDED" and inspection.next_state is None
    assert inspection.variables == {"paid": 12}
    assert inspection.output == story.exited["stateExitedEventDetails"]["output"]
    assert inspection.inspection_data()["afterParameters"] == {"id": 7, "fixed": 1}
    assert inspection.inspection_data()["variables"] == {"paid": 12}


async def test_info_level_leaves_the_stages_out() -> None:
    events = await run(TASK, {"order": {"id": 1}}, replying({"sum": 1}))
    _, inspection = inspect(TASK, events, "Work", level="INFO")
    assert inspection.stages == () and inspection.output == {"total": 1}


CAUGHT = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": FN,
            "Retry": [{"ErrorEquals": ["Flaky"], "MaxAttempts": 2, "IntervalSeconds": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Recover"}],
            "Next": "Done",
        },
        "Recover": {"Type": "Pass", "End": True},
        "Done": {"Type": "Succeed"},
    },
}


class Flaky(Exception):
    pass


class Broken(Exception):
    pass


async def test_retries_then_a_caught_error() -> None:
    events = await run(CAUGHT, {"a": 1}, replying(Flaky("once"), Broken("for good")))
    story, inspection = inspect(CAUGHT, events, "Work")
    assert [f.error for f in story.failures] == ["Flaky", "Broken"]
    assert story.retry_count == 1 and story.error is not None and story.error.error == "Broken"
    assert inspection.status == "CAUGHT_ERROR" and inspection.next_state == "Recover"
    assert stages(inspection)["errorOutput"]["Error"] == "Broken"
    assert inspection.output == story.exited["stateExitedEventDetails"]["output"]
    assert inspection.output["failure"]["Error"] == "Broken"


async def test_an_uncaught_error_fails_and_a_retriable_one_says_so() -> None:
    definition = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": FN, "End": True}}}
    events = await run(definition, {}, replying(Broken("no")))
    story, inspection = inspect(definition, events, "Work")
    assert story.exited is None
    assert inspection.status == "FAILED" and inspection.error == "Broken"
    program = load_program(json.dumps(CAUGHT))
    state = find_state(program.block, "Work")
    assert state is not None
    work = StateWork({}, error=StatesError("Flaky", "x"), may_retry=True)
    context = execution_context("sm", "run", DEFAULT_START)
    assert inspect_state(state, work, context).status == "RETRIABLE"


JSONATA = {
    "QueryLanguage": "JSONata",
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Assign": {"rate": 3}, "Next": "Work"},
        "Work": {
            "Type": "Task",
            "Resource": FN,
            "Arguments": {"n": "{% $states.input.n * $rate %}"},
            "Output": "{% {'doubled': $states.result.v * 2} %}",
            "Assign": {"last": "{% $states.result.v %}"},
            "End": True,
        },
    },
}


async def test_jsonata_arguments_output_and_variables_in_scope() -> None:
    events = await run(JSONATA, {"n": 2}, replying({"v": 5}))
    story, inspection = inspect(JSONATA, events, "Work")
    assert story.variables == {"rate": 3}
    assert stages(inspection) == {
        "input": {"n": 2},
        "afterArguments": {"n": 6},
        "result": {"v": 5},
        "output": {"doubled": 10},
    }
    assert [s.field for s in inspection.stages] == [None, "Arguments", None, "Output"]
    assert inspection.variables == {"last": 5}


CHOICE = {
    "StartAt": "Pick",
    "States": {
        "Pick": {
            "Type": "Choice",
            "InputPath": "$.v",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {
            "Type": "Pass",
            "Parameters": {"size": "big", "n.$": "$.n"},
            "ResultPath": "$.r",
            "End": True,
        },
        "Small": {"Type": "Pass", "End": True},
    },
}


async def test_choice_and_pass() -> None:
    events = await run(CHOICE, {"v": {"n": 5}})
    _, choice = inspect(CHOICE, events, "Pick")
    assert choice.next_state == "Big" and stages(choice)["afterInputPath"] == {"n": 5}
    story, passed = inspect(CHOICE, events, "Big")
    assert stages(passed)["afterParameters"] == {"size": "big", "n": 5}
    assert (
        passed.output
        == story.exited["stateExitedEventDetails"]["output"]
        == {"n": 5, "r": {"size": "big", "n": 5}}
    )


MAP = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ToleratedFailureCount": 5,
            "ItemProcessor": {
                "StartAt": "Check",
                "States": {
                    "Check": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
                        "Default": "Fine",
                    },
                    "Bad": {"Type": "Fail", "Error": "Two"},
                    "Fine": {"Type": "Pass", "End": True},
                },
            },
            "End": True,
        }
    },
}


async def test_map_iterations_by_index_with_their_own_events() -> None:
    events = await run(MAP, {"items": [0, 1, 2, 3]})
    story = state_story(events, entered(events, "Each"))
    iterations = map_iterations(story)
    assert [(i.index, i.status, i.events_recorded) for i in iterations] == [
        (0, "SUCCEEDED", True), (1, "SUCCEEDED", True), (2, "FAILED", True), (3, "SUCCEEDED", True),
    ]  # fmt: skip
    two = map_iteration_events(story, 2)
    assert [e["type"] for e in two] == [
        "MapIterationStarted", "ChoiceStateEntered", "ChoiceStateExited", "FailStateEntered",
        "MapIterationFailed",
    ]  # fmt: skip
    assert two[1]["stateEnteredEventDetails"]["input"] == 2
    # the third run of Check is iteration 2's: its story reads that iteration's input
    _, check = inspect(MAP, events, "Check", nth=2)
    assert check.next_state == "Bad"


PARALLEL = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "L", "States": {"L": {"Type": "Pass", "Result": "left", "End": True}}},
                {"StartAt": "R", "States": {"R": {"Type": "Pass", "Result": "right", "End": True}}},
            ],
            "ResultSelector": {"first.$": "$[0]"},
            "End": True,
        }
    },
}


async def test_parallel_branches_and_the_branch_outputs_as_result() -> None:
    events = await run(PARALLEL, {"k": 1})
    story = state_story(events, entered(events, "Both"))
    program = load_program(json.dumps(PARALLEL))
    state = find_state(program.block, "Both")
    assert isinstance(state, Parallel)
    branches = parallel_branches(story, [b.start_at for b in state.branches])
    assert [(b.index, b.status) for b, _ in branches] == [(0, "SUCCEEDED"), (1, "SUCCEEDED")]
    assert [e["type"] for e in branches[1][1]] == ["PassStateEntered", "PassStateExited"]
    work = StateWork(story.input, ["left", "right"])
    inspection = inspect_state(state, work, execution_context("sm", "run", DEFAULT_START))
    assert stages(inspection)["afterResultSelector"] == {"first": "left"}
    assert story.exited is not None
    assert inspection.output == story.exited["stateExitedEventDetails"]["output"]


async def test_a_parallel_result_is_collected_from_its_branches() -> None:
    events = await run(PARALLEL, {"k": 1})
    story, inspection = inspect(PARALLEL, events, "Both")
    assert stages(inspection)["result"] == ["left", "right"]
    assert inspection.output == story.exited["stateExitedEventDetails"]["output"] == {"first": "left"}


async def test_an_unrecorded_result_stops_after_the_input_stages() -> None:
    program = load_program(json.dumps(PARALLEL))
    state = find_state(program.block, "Both")
    assert state is not None
    inspection = inspect_state(state, StateWork({"k": 1}), execution_context("sm", "run", DEFAULT_START))
    assert [s.name for s in inspection.stages] == ["input", "afterInputPath"]
    assert inspection.notes


MAPPED = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "Double", "States": {"Double": {
                "Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $)"}, "End": True}}},
            "ResultSelector": {"all.$": "$[*].v"},
            "End": True,
        }
    },
}  # fmt: skip


async def test_a_map_result_is_collected_from_its_iterations_in_index_order() -> None:
    events = await run(MAPPED, [1, 2, 3])
    story, inspection = inspect(MAPPED, events, "Each")
    assert stages(inspection)["result"] == [{"v": 2}, {"v": 4}, {"v": 6}]
    assert inspection.output == story.exited["stateExitedEventDetails"]["output"] == {"all": [2, 4, 6]}


async def test_only_a_state_entered_event_is_a_state() -> None:
    events = await run(PARALLEL, {"k": 1})
    with pytest.raises(NotAStateEntry):
        state_story(events, 1)
    with pytest.raises(NotAStateEntry):
        state_story(events, 10_000)


SCOPES = {
    "StartAt": "Set",
    "States": {
        "Set": {"Type": "Pass", "Assign": {"a": 1}, "Next": "Both"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "SetB", "States": {
                    "SetB": {"Type": "Pass", "Assign": {"b": 2}, "Next": "X"},
                    "X": {"Type": "Pass", "End": True}}},
                {"StartAt": "Y", "States": {"Y": {"Type": "Pass", "End": True}}},
            ],
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$$.Execution.Input.items",
            "MaxConcurrency": 1,
            "ItemProcessor": {"StartAt": "Mark", "States": {
                "Mark": {"Type": "Pass", "Assign": {"seen.$": "$"}, "Next": "Q"},
                "Q": {"Type": "Pass", "End": True}}},
            "Next": "Z",
        },
        "Z": {"Type": "Pass", "End": True},
    },
}  # fmt: skip


async def test_variables_in_scope_follow_the_threads() -> None:
    events = await run(SCOPES, {"items": [10, 20]})
    story = state_story  # brevity
    assert story(events, entered(events, "X")).variables == {"a": 1, "b": 2}
    assert story(events, entered(events, "Y")).variables == {"a": 1}  # not the other branch's
    assert story(events, entered(events, "Q", 1)).variables == {"a": 1, "seen": 20}  # not iteration 0's
    assert story(events, entered(events, "Z")).variables == {"a": 1}  # branches' and iterations' stay inside
