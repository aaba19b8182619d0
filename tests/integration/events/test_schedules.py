"""Schedules on Temporal Schedules: a rate schedule firing into a state machine and a function, a
one-time at() schedule firing once, a slot fired while no worker ran delivered when one returns, a
slot never queued twice, and bad schedules refused with the reason."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from temporalio.client import Client

from foundation.registry import event_bus as registry
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.registry.functions import FunctionEvent
from foundation.settings import Settings
from tests.integration.helpers import create_function, create_machine, unique
from workers.activities import Activities
from workers.events.delivery import Deliverer
from workers.events.schedule_activities import SCHEDULE_BUS, ScheduleActivities
from workers.events.schedule_workflow import FireRequest, ScheduleTarget
from workers.worker import build_worker

pytestmark = pytest.mark.integration

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


async def _deliveries(sessions: SessionMaker, schedule: str) -> list[registry.EventDelivery]:
    async with unit_of_work(sessions) as session:
        query = select(registry.EventDelivery).where(
            col(registry.EventDelivery.bus_name) == SCHEDULE_BUS,
            col(registry.EventDelivery.rule_name) == schedule,
        )
        return list((await session.exec(query)).all())


async def _wait_for(
    sessions: SessionMaker, schedule: str, count: int, seconds: float
) -> list[registry.EventDelivery]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = await _deliveries(sessions, schedule)
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.3)


def _machine_arn(settings: Settings, name: str) -> str:
    return f"arn:aws:states:{settings.region}:000000000000:stateMachine:{name}"


async def test_a_rate_schedule_fires_into_a_state_machine_and_a_function(
    api: httpx.AsyncClient, worker: None, settings: Settings, temporal_client: Client, sessions: SessionMaker
) -> None:
    machine = await create_machine(api, PASS)
    schedule = unique("every-minute")
    body = {
        "scheduleExpression": "rate(1 minute)",
        "target": {"arn": _machine_arn(settings, machine), "input": '{"tick": true}'},
    }
    created = await api.post(f"/v1/schedules/{schedule}", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["state"] == "ENABLED" and len(created.json()["nextFireTimes"]) >= 1
    await temporal_client.get_schedule_handle(f"stepline-schedule-{schedule}").trigger()
    (delivery,) = await _wait_for(sessions, schedule, 1, 20)
    async with Deliverer(settings, sessions, poll_seconds=0.2):
        for _ in range(100):
            listed = (await api.get("/v1/executions", params={"stateMachine": machine})).json()["executions"]
            marked = [d.status for d in await _deliveries(sessions, schedule)] == ["DELIVERED"]
            if listed and marked:  # (leaving between the start and its record would leave it pending)
                break
            await asyncio.sleep(0.2)
    assert [e["name"] for e in listed] == [delivery.id]
    function = await create_function(api, "def handler(event, context):\n    return event\n")
    fn_schedule = unique("fn-every-minute")
    arn = f"arn:aws:lambda:{settings.region}:000000000000:function:{function}"
    created = await api.post(
        f"/v1/schedules/{fn_schedule}",
        json={"scheduleExpression": "rate(5 minutes)", "target": {"arn": arn, "input": '{"n": 1}'}},
    )
    assert created.status_code == 201, created.text
    await temporal_client.get_schedule_handle(f"stepline-schedule-{fn_schedule}").trigger()
    await _wait_for(sessions, fn_schedule, 1, 20)
    await Deliverer(settings, sessions).deliver_due()
    async with unit_of_work(sessions) as session:
        events = (
            await session.exec(select(FunctionEvent).where(col(FunctionEvent.function_name) == function))
        ).all()
    assert [json.loads(e.payload) for e in events] == [{"n": 1}]
    status = (await api.get(f"/v1/schedules/{schedule}")).json()
    assert status["fired"] >= 1 and status["lastError"] is None
    metrics = (await api.get("/metrics")).text
    assert f'stepline_schedule_delivered_total{{schedule="{schedule}"}} 1.0' in metrics
    for name in (schedule, fn_schedule):
        assert (await api.delete(f"/v1/schedules/{name}")).status_code == 204
    assert (await api.get(f"/v1/schedules/{schedule}")).status_code == 404


async def test_a_slot_due_while_no_worker_ran_is_delivered_when_one_returns_and_at_fires_once(
    api: httpx.AsyncClient, settings: Settings, temporal_client: Client, sessions: SessionMaker
) -> None:
    machine = await create_machine(api, PASS)
    schedule = unique("once")
    moment = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    body = {"scheduleExpression": f"at({moment})", "target": {"arn": _machine_arn(settings, machine)}}
    assert (await api.post(f"/v1/schedules/{schedule}", json=body)).status_code == 201
    handle = temporal_client.get_schedule_handle(f"stepline-schedule-{schedule}")
    for _ in range(200):  # Temporal starts the slot's workflow when due
        if (await handle.describe()).info.recent_actions:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the slot never came due")
    assert await _deliveries(sessions, schedule) == []  # due, but no worker polls the task queue
    async with build_worker(temporal_client, settings.temporal.task_queue, Activities(sessions, None)):
        found = await _wait_for(sessions, schedule, 1, 20)
        await asyncio.sleep(1.5)
        found = await _deliveries(sessions, schedule)
    assert len(found) == 1
    status = (await api.get(f"/v1/schedules/{schedule}")).json()
    assert status["fired"] == 1 and status["nextFireTimes"] == []


async def test_one_slot_is_queued_once(sessions: SessionMaker) -> None:
    activities = ScheduleActivities(sessions)
    target = ScheduleTarget(unique("s"), "arn:aws:states:us-east-1:000000000000:stateMachine:x", "{}")
    request = FireRequest(target, "stepline-schedule-s-2026-12-03T23:50:00Z")
    assert await activities.fire_schedule(request) is True
    assert await activities.fire_schedule(request) is False
    assert len(await _deliveries(sessions, target.schedule)) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"scheduleExpression": "rate(0 minutes)"}, "at least 1"),
        ({"scheduleExpression": "rate(2 minute)"}, "rate(N minutes)"),
        ({"scheduleExpression": "cron(0 12 * * ? 2030)"}, "year"),
        ({"scheduleExpression": "cron(0 12 L * ? *)"}, "not supported"),
        ({"scheduleExpression": "every day"}, "Invalid Schedule Expression"),
        ({"scheduleExpression": "cron(99 12 * * ? *)"}, "Invalid Schedule Expression"),
        ({"scheduleExpression": "rate(1 hour)", "scheduleExpressionTimezone": "Mars/Base"}, "time zone"),
        (
            {"scheduleExpression": "rate(1 hour)", "flexibleTimeWindow": {"mode": "FLEXIBLE"}},
            "MaximumWindowInMinutes",
        ),
    ],
)
async def test_bad_schedules_are_refused(
    api: httpx.AsyncClient, settings: Settings, body: dict[str, Any], message: str
) -> None:
    machine = await create_machine(api, PASS)
    answer = await api.post(
        f"/v1/schedules/{unique('bad')}", json={**body, "target": {"arn": _machine_arn(settings, machine)}}
    )
    assert answer.status_code == 400, answer.text
    assert message in answer.text


async def test_a_missing_target_is_refused(api: httpx.AsyncClient) -> None:
    arn = "arn:aws:states:us-east-1:000000000000:stateMachine:" + unique("nope")
    answer = await api.post(
        f"/v1/schedules/{unique('s')}", json={"scheduleExpression": "rate(1 hour)", "target": {"arn": arn}}
    )
    assert answer.status_code == 400 and "does not exist" in answer.text
