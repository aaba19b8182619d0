"""Large Maps offloaded in chunks (``statemachine.offload``) end exactly as they do inline."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from statemachine.chunk_runner import run_chunk
from statemachine.host import FunctionCall, FunctionResult
from statemachine.interpreter import ExecutionOutcome, execute
from statemachine.limits import Limits
from statemachine.loader import load_program
from statemachine.local import LocalHost, execution_context
from statemachine.offload import (
    IterationOutcome,
    MapChunk,
    MapOffloader,
    outcomes_from_json,
    outcomes_to_json,
)

CHUNKED = Limits(map_offload_min_items=10, map_chunk_items=7, map_max_chunks_in_flight=3)


class ChunkingHost(LocalHost):
    """Runs each chunk through JSON and ``run_chunk``, as a child workflow would."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chunks: list[MapChunk] = []

    async def run_map_chunk(self, chunk: MapChunk) -> Sequence[IterationOutcome]:
        received = MapChunk.from_json(chunk.to_json())
        assert received == chunk
        self.chunks.append(received)
        return outcomes_from_json(outcomes_to_json(await run_chunk(received, self)))


def processor_map(**fields: Any) -> dict[str, Any]:
    """A Map whose items fail (Fail state) when their value is a multiple of 7 (except 0)."""
    return {
        "StartAt": "Setup",
        "States": {
            "Setup": {"Type": "Pass", "Assign": {"offset": 100}, "Next": "Each"},
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Check",
                    "States": {
                        "Check": {
                            "Type": "Choice",
                            "Choices": [
                                {
                                    "And": [
                                        {"Variable": "$.v", "NumericGreaterThan": 0},
                                        {"Variable": "$.bad", "IsPresent": True},
                                    ],
                                    "Next": "Bad",
                                }
                            ],
                            "Default": "Add",
                        },
                        "Bad": {"Type": "Fail", "Error": "Bad", "Cause": "a bad item"},
                        "Add": {
                            "Type": "Pass",
                            "Parameters": {
                                "sum.$": "States.MathAdd($.v, $offset)",
                                "who.$": "$$.Execution.Input.who",
                            },
                            "End": True,
                        },
                    },
                },
                **fields,
                "End": True,
            },
        },
    }


def items(count: int, bad: Sequence[int] = ()) -> dict[str, Any]:
    return {"who": "me", "items": [{"v": i, **({"bad": 1} if i in bad else {})} for i in range(count)]}


async def run(definition: dict[str, Any], value: Any, host: LocalHost, limits: Limits) -> ExecutionOutcome:
    context = execution_context("M", "e1", host.now())
    return await execute(load_program(definition), value, context, host, limits)


async def both(
    definition: dict[str, Any], value: Any, limits: Limits = CHUNKED
) -> tuple[ExecutionOutcome, ExecutionOutcome, LocalHost, ChunkingHost]:
    inline, chunked = LocalHost(), ChunkingHost()
    expected = await run(definition, value, inline, limits)
    got = await run(definition, value, chunked, limits)
    assert chunked.chunks, "the Map did not use the offload hook"
    return expected, got, inline, chunked


def output(outcome: ExecutionOutcome) -> Any:
    assert outcome.output is not None, outcome
    return outcome.output


def iteration_events(host: LocalHost) -> Counter[str]:
    return Counter(e.type for e in host.history if e.type.startswith("MapIteration") or "MapState" in e.type)


async def test_results_match_inline_and_chunks_are_used() -> None:
    definition = processor_map(ItemsPath="$.items", ItemSelector={"v.$": "$$.Map.Item.Value.v"})
    expected, got, inline, chunked = await both(definition, items(50))
    assert got == expected
    assert got.status == "SUCCEEDED"
    assert output(got)[49] == {"sum": 149, "who": "me"}
    assert [len(c.items) for c in chunked.chunks] == [7] * 7 + [1]
    assert chunked.chunks[0].variables == {"offset": 100}
    assert iteration_events(chunked) == iteration_events(inline)
    assert iteration_events(chunked)["MapIterationSucceeded"] == 50


async def test_chunks_also_end_at_their_byte_budget() -> None:
    definition = processor_map(ItemsPath="$.items")
    limits = Limits(map_offload_min_items=10, map_chunk_items=7, map_chunk_bytes=30)
    expected, got, _, chunked = await both(definition, items(20), limits)
    assert got == expected
    # {"v":0} to {"v":9} are 7 bytes, then 8: a chunk takes items until it has passed 30 bytes.
    assert [len(c.items) for c in chunked.chunks] == [5, 5, 4, 4, 2]


async def test_tolerated_failures_match_inline() -> None:
    definition = processor_map(ItemsPath="$.items", ToleratedFailureCount=3)
    expected, got, inline, chunked = await both(definition, items(40, bad=(3, 17, 30)))
    assert got == expected
    assert got.status == "SUCCEEDED"
    assert output(got)[17] == {"Error": "Bad", "Cause": "a bad item"}
    assert iteration_events(chunked) == iteration_events(inline)
    assert iteration_events(chunked)["MapIterationFailed"] == 3


async def test_exceeding_the_tolerance_fails_the_map() -> None:
    definition = processor_map(ItemsPath="$.items", ToleratedFailurePercentage=5)
    expected, got, _, chunked = await both(definition, items(40, bad=(3, 17, 30)))
    assert (got.status, got.error) == (expected.status, expected.error)
    assert got.error == "States.ExceedToleratedFailureThreshold"
    assert all(c.tolerated == 2 for c in chunked.chunks)


async def test_an_untolerated_failure_fails_the_map_with_its_error() -> None:
    definition = processor_map(ItemsPath="$.items")
    expected, got, _, chunked = await both(definition, items(40, bad=(25,)))
    assert (got.status, got.error, got.cause) == (expected.status, expected.error, expected.cause)
    assert (got.error, got.cause) == ("Bad", "a bad item")
    history = Counter(e.type for e in chunked.history)
    assert (
        history["MapIterationStarted"]
        == history["MapIterationSucceeded"] + 1 + history["MapIterationAborted"]
    )


async def test_a_caught_chunk_failure_goes_to_the_catcher() -> None:
    definition = processor_map(ItemsPath="$.items", Catch=[{"ErrorEquals": ["Bad"], "Next": "Caught"}])
    definition["States"]["Each"].pop("End")
    definition["States"]["Each"]["Next"] = "Caught"
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    expected, got, _, _ = await both(definition, items(30, bad=(11,)))
    assert got == expected
    assert output(got)["Error"] == "Bad"


async def test_results_over_the_payload_limit_fail_as_inline() -> None:
    definition = processor_map(ItemsPath="$.items")
    limits = Limits(map_offload_min_items=10, map_chunk_items=7, max_payload_bytes=600)
    expected, got, _, _ = await both(definition, items(40), limits)
    assert (
        (got.status, got.error) == (expected.status, expected.error) == ("FAILED", "States.DataLimitExceeded")
    )


async def test_small_maps_and_hosts_without_the_hook_run_inline() -> None:
    definition = processor_map(ItemsPath="$.items")
    host = ChunkingHost()
    outcome = await run(definition, items(10), host, CHUNKED)
    assert outcome.status == "SUCCEEDED" and host.chunks == []
    assert isinstance(host, MapOffloader) and not isinstance(LocalHost(), MapOffloader)


async def test_max_concurrency_holds_across_chunks() -> None:
    running = peak = 0

    async def slow(call: FunctionCall) -> FunctionResult:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(5):
            await asyncio.sleep(0)
        running -= 1
        return FunctionResult(call.payload)

    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 5,
                "ItemProcessor": {
                    "StartAt": "Echo",
                    "States": {
                        "Echo": {"Type": "Task", "Resource": "arn:aws:lambda:::function:f", "End": True}
                    },
                },
                "End": True,
            }
        },
    }
    host = ChunkingHost(invoker=slow)
    outcome = await run(definition, list(range(60)), host, CHUNKED)
    assert outcome.status == "SUCCEEDED" and outcome.output == list(range(60))
    assert len(host.chunks) == 9 and {c.max_concurrency for c in host.chunks} == {1}
    assert 1 < peak <= 5


def test_the_execution_input_stays_home_unless_the_processor_reads_the_context() -> None:
    from statemachine import offload

    assert offload._reads_context({"States": {"A": {"Parameters": {"x.$": "$$.Execution.Input"}}}})
    assert not offload._reads_context({"States": {"A": {"Type": "Pass", "End": True}}})
    assert json.loads(MapChunk.from_json(MapChunk(
        "S", {}, [(0, 1)], {}, execution_context("M", "e", LocalHost().now()), None, 1, -1, Limits()
    ).to_json()).to_json())["execution_input"] is None  # fmt: skip
