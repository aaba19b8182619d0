"""The in-memory host: virtual clock, seeded ids, invocation timeouts, and run_local's contract."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from statemachine.errors import DefinitionError, StatesError
from statemachine.host import FunctionCall, FunctionResult
from statemachine.local import LocalHost, run_local

START = datetime(2030, 5, 1, tzinfo=UTC)


async def test_virtual_sleeps_wake_in_deadline_order() -> None:
    host = LocalHost(start_time=START)
    woke: list[tuple[str, datetime]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await host.sleep(seconds)
        woke.append((name, host.now()))

    await asyncio.gather(sleeper("late", 30), sleeper("early", 10), sleeper("middle", 20))
    assert woke == [
        ("early", START + timedelta(seconds=10)),
        ("middle", START + timedelta(seconds=20)),
        ("late", START + timedelta(seconds=30)),
    ]


async def test_virtual_sleep_takes_no_real_time() -> None:
    host = LocalHost()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await host.sleep(86_400)
    assert loop.time() - started < 1


def test_uuid_and_random_are_deterministic_per_seed() -> None:
    first, second, other = LocalHost(seed=1), LocalHost(seed=1), LocalHost(seed=2)
    assert [first.uuid4(), first.random()] == [second.uuid4(), second.random()]
    assert other.uuid4() != LocalHost(seed=1).uuid4()
    assert len(first.uuid4()) == 36


async def test_invocation_timeout_raises_states_timeout() -> None:
    async def slow(call: FunctionCall) -> FunctionResult:
        await asyncio.sleep(10)
        return FunctionResult(b"{}")

    host = LocalHost(invoker=slow)
    with pytest.raises(StatesError) as raised:
        await host.invoke_function(FunctionCall("f", b"{}", timeout_seconds=0.01))
    assert raised.value.name == "States.Timeout"


async def test_without_invoker_functions_are_not_found() -> None:
    with pytest.raises(StatesError) as raised:
        await LocalHost().invoke_function(FunctionCall("f", b"{}"))
    assert raised.value.name == "Lambda.ResourceNotFoundException"


async def test_run_local_context_object_and_names() -> None:
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"c.$": "$$"}, "End": True}}}
    run = await run_local(
        definition, {"k": 1}, state_machine_name="Orders", execution_name="e-1", start_time=START
    )
    output: Any = run.outcome.output
    context = output["c"]
    assert context["Execution"]["Id"].endswith(":execution:Orders:e-1")
    assert context["Execution"]["Input"] == {"k": 1}
    assert context["Execution"]["StartTime"] == "2030-05-01T00:00:00.000Z"
    assert context["StateMachine"]["Name"] == "Orders"
    assert context["State"] == {"Name": "P", "EnteredTime": "2030-05-01T00:00:00.000Z"}
    assert run.history[0].timestamp == START


@pytest.mark.parametrize(
    "definition",
    [
        '{"StartAt": ',
        "[]",
        '{"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "nope", "End": true}}}',
        "{" + '"Comment": "' + "x" * 1_100_000 + '"}',
    ],
    ids=["malformed-json", "not-an-object", "bad-path", "over-1MiB"],
)
async def test_bad_definitions_raise_definition_error(definition: str) -> None:
    with pytest.raises(DefinitionError) as raised:
        await run_local(definition, {})
    assert raised.value.diagnostics


async def test_real_time_reads_the_clock_and_uuids_it_is_given() -> None:
    wall = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    host = LocalHost(virtual_time=False, clock=lambda: wall, uuids=lambda: "the-uuid")
    assert (host.now(), host.uuid4()) == (wall, "the-uuid")


def test_an_unseeded_host_draws_differently_each_time() -> None:
    assert LocalHost().uuid4() == LocalHost().uuid4()  # seeded (0 by default): reproducible
    first, second = LocalHost(seed=None), LocalHost(seed=None)
    assert (first.uuid4(), first.random()) != (second.uuid4(), second.random())
