"""A Distributed Map's EXPRESS child executions (``chunk_runner.run_express_chunk``, chosen by
``offload.offloader_for``): each item an execution with its own history, at most the Express time
limit long, the chunk's tolerance as ``run_chunk``'s; a host without ``ExpressChildren`` (or an
execution from before the patch) runs them as before."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from statemachine.arns import map_run_child_arn
from statemachine.chunk_runner import run_express_chunk
from statemachine.compiler import compile_program
from statemachine.host import Host
from statemachine.json_types import JSON
from statemachine.limits import Limits
from statemachine.local import LocalHost, execution_context
from statemachine.offload import (
    EXPRESS_MAP_CHILDREN,
    IterationOutcome,
    MapChunk,
    MapOffloader,
    express_offloader,
    offloader_for,
)
from statemachine.validation import validate_definition_text

PROCESSOR: dict[str, JSON] = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.bad", "IsPresent": True, "Next": "Bad"},
                {"Variable": "$.slow", "IsPresent": True, "Next": "Slow"},
            ],
            "Default": "Add",
        },
        "Bad": {"Type": "Fail", "Error": "Bad", "Cause": "a bad item"},
        "Slow": {"Type": "Wait", "Seconds": 400, "Next": "Add"},
        "Add": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.v, $offset)"}, "End": True},
    },
}


def chunk(items: list[Any], tolerated: int = -1) -> MapChunk:
    context = execution_context("M", "e", LocalHost().now())
    run = "arn:aws:states:us-east-1:123456789012:mapRun:M:e/Each:r"
    return MapChunk(
        "Each", PROCESSOR, list(enumerate(items)), {"offset": 100}, context, None, 4, tolerated, Limits(),
        map_run_arn=run,
    )  # fmt: skip


async def run(items: list[Any], tolerated: int = -1) -> tuple[list[IterationOutcome], dict[int, LocalHost]]:
    hosts: dict[int, LocalHost] = {}
    ended: list[int] = []

    def new_host(index: int) -> Host:
        hosts[index] = LocalHost()
        return hosts[index]

    def done(index: int, host: Host) -> None:
        assert host is hosts[index]
        ended.append(index)

    outcomes = await run_express_chunk(chunk(items, tolerated), new_host, done, limit_seconds=300)
    assert sorted(ended) == sorted(hosts)  # every child was handed back once it ended, however
    return outcomes, hosts


async def test_each_item_is_an_execution_with_its_own_history() -> None:
    outcomes, hosts = await run([{"v": 1}, {"v": 2}])
    assert sorted((o.index, o.output) for o in outcomes) == [(0, {"sum": 101}), (1, {"sum": 102})]
    events = [(e.id, e.previous_event_id, e.type) for e in hosts[1].history]
    assert events == [
        (1, 0, "ExecutionStarted"),
        (2, 1, "ChoiceStateEntered"),
        (3, 2, "ChoiceStateExited"),
        (4, 3, "PassStateEntered"),
        (5, 4, "PassStateExited"),
        (6, 5, "ExecutionSucceeded"),
    ]
    started = hosts[1].history[0].details
    assert started is not None and started["input"] == {"v": 2} and "roleArn" in started


CONTEXT_PROCESSOR: dict[str, JSON] = {
    "StartAt": "Look",
    "States": {"Look": {"Type": "Pass", "Parameters": {"execution.$": "$$.Execution"}, "End": True}},
}


async def test_each_child_sees_its_own_execution_in_the_context_object() -> None:
    """As on AWS: ``$$.Execution`` is the child's (its Express ARN, name, input, start), not the
    parent's; the role and the state machine are the parent's."""
    parent = chunk([])
    items: list[tuple[int, JSON]] = [(7, {"v": 7}), (8, {"v": 8})]
    work = dataclasses.replace(parent, processor=CONTEXT_PROCESSOR, items=items, execution_input={"all": 1})
    hosts: dict[int, LocalHost] = {}

    def new_host(index: int) -> Host:
        hosts[index] = LocalHost(start_time=datetime(2026, 1, 2, 3, 4, 5, index * 1000, tzinfo=UTC))
        return hosts[index]

    outcomes = await run_express_chunk(work, new_host, lambda index, host: None)
    seen = {o.index: o.output for o in outcomes}
    assert seen[7] == {
        "execution": {
            "Id": "arn:aws:states:us-east-1:123456789012:express:M:e/Each:r:7",
            "Input": {"v": 7},
            "Name": "7",
            "RoleArn": parent.context.role_arn,
            "StartTime": "2026-01-02T03:04:05.007Z",
            "RedriveCount": 0,
        }
    }
    assert '"Id": "arn:aws:states:us-east-1:123456789012:express:M:e/Each:r:8"' in json.dumps(seen[8])
    assert parent.context.execution_id not in json.dumps(seen)


async def test_children_still_running_when_the_chunk_stops_end_aborted() -> None:
    """Past its tolerance the chunk stops: a child still waiting is cancelled and ends
    ``ExecutionAborted`` after its own states' events (and is handed back like the others)."""
    outcomes, hosts = await run([{"v": 1, "slow": True}, {"v": 2, "bad": True}], tolerated=0)
    assert [(o.index, o.error) for o in outcomes] == [(1, "Bad")]
    assert [e.type for e in hosts[0].history] == [
        "ExecutionStarted",
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "WaitStateEntered",
        "WaitStateAborted",
        "ExecutionAborted",
    ]
    assert [e.id for e in hosts[0].history] == [1, 2, 3, 4, 5, 6]
    assert hosts[0].history[-1].details == {"error": "States.Aborted", "cause": "The Map Run was stopped"}


async def test_a_child_past_the_time_limit_times_out_alone() -> None:
    outcomes, hosts = await run([{"v": 1, "slow": True}, {"v": 2}], tolerated=1)
    by_index = {o.index: o for o in outcomes}
    assert by_index[0].error == "States.Timeout" and by_index[1].output == {"sum": 102}
    assert [e.type for e in hosts[0].history][-1] == "ExecutionTimedOut"


async def test_the_chunk_stops_past_its_tolerance() -> None:
    items = [{"v": 1, "bad": True}, {"v": 2, "bad": True}, {"v": 3}, {"v": 4}]
    outcomes, hosts = await run(items, tolerated=1)
    failed = [o for o in outcomes if o.error is not None]
    assert len(failed) == 2 and {o.error for o in failed} == {"Bad"}
    assert all(hosts[o.index].history[-1].type == "ExecutionFailed" for o in failed)


class ExpressHost(LocalHost):
    def __init__(self, patched: bool) -> None:
        super().__init__()
        self._patched = patched

    def patched(self, change: str) -> bool:
        assert change == EXPRESS_MAP_CHILDREN
        return self._patched

    async def run_express_chunk(self, chunk: MapChunk) -> Sequence[IterationOutcome]:
        return []


def distributed(execution_type: str) -> Any:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
                    **PROCESSOR,
                },
                "End": True,
            }
        },
    }
    return compile_program(definition).block.states["Each"]


@pytest.mark.parametrize(
    ("execution_type", "host", "express"),
    [
        ("EXPRESS", ExpressHost(True), True),
        ("EXPRESS", ExpressHost(False), False),  # started before the patch: as it ran
        ("STANDARD", ExpressHost(True), False),
        ("EXPRESS", LocalHost(), False),  # a host without ExpressChildren
    ],
    ids=["express", "express-before-the-patch", "standard", "local-host"],
)
def test_which_maps_run_express_children(execution_type: str, host: Host, express: bool) -> None:
    chosen = offloader_for(distributed(execution_type), host, 3, Limits())
    assert express_offloader(chosen) is express
    assert chosen is None or isinstance(chosen, MapOffloader)


def test_express_child_arns_derive_from_the_map_run() -> None:
    run = "arn:aws:states:us-east-1:123456789012:mapRun:M:e/Each:r"
    assert (
        map_run_child_arn(run, "7", express=True)
        == "arn:aws:states:us-east-1:123456789012:express:M:e/Each:r:7"
    )
    assert map_run_child_arn(run, "7") == "arn:aws:states:us-east-1:123456789012:execution:M:e/Each:r:7"


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "arn:aws:states:::states:startExecution.sync",
        "arn:aws:states:us-east-1:123456789012:activity:work",
    ],
    ids=["callback", "sync", "activity"],
)
def test_an_express_item_processor_cannot_wait(resource: str) -> None:
    task = {"Type": "Task", "Resource": resource, "End": True}
    if "lambda" in resource:
        task["Parameters"] = {"FunctionName": "f", "Payload": {"t.$": "$$.Task.Token"}}
    processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "T"}
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {"Type": "Map", "ItemProcessor": {**processor, "States": {"T": task}}, "End": True}
        },
    }
    found = [d for d in validate_definition_text(json.dumps(definition)) if d.severity == "ERROR"]
    assert [d.location for d in found] == ["/States/Each/ItemProcessor/States/T/Resource"], found
    assert "ExecutionType is EXPRESS" in found[0].message
    standard = json.dumps(definition).replace('"EXPRESS"', '"STANDARD"')
    assert not [d for d in validate_definition_text(standard) if d.severity == "ERROR"]
