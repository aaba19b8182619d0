"""A schedule target's RetryPolicy and DeadLetterConfig through the outbox (a target that is gone is
retried per policy, by a second deliverer after the first stopped, then dead-lettered with
Scheduler's error attributes), a schedule updated and listed on /v1, the RUNNING status change of a
started execution on the default bus, and the outbox retention (delivered rows only)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select
from temporalio.client import Client

from api.event_metrics import RuleMetrics
from foundation.registry import event_bus as registry
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.registry.functions import FunctionEvent
from foundation.settings import Settings
from statemachine.arns import event_bus_arn
from tests.integration.helpers import create_function, create_machine, start, unique, wait_until_done
from workers.events.delivery import Deliverer
from workers.events.retries import DEAD_LETTER, Policy

pytestmark = pytest.mark.integration

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
ECHO = "def handler(event, context):\n    return event\n"


def _arn(settings: Settings, kind: str, name: str) -> str:
    service = "lambda" if kind == "function" else "states"
    return f"arn:aws:{service}:{settings.region}:000000000000:{kind}:{name}"


async def _rows(sessions: SessionMaker, rule: str) -> list[registry.EventDelivery]:
    async with unit_of_work(sessions) as session:
        query = select(registry.EventDelivery).where(col(registry.EventDelivery.rule_name) == rule)
        return list((await session.exec(query.order_by(col(registry.EventDelivery.created_at)))).all())


async def _events(sessions: SessionMaker, function: str) -> list[Any]:
    async with unit_of_work(sessions) as session:
        query = select(FunctionEvent).where(col(FunctionEvent.function_name) == function)
        return [json.loads(e.payload) for e in (await session.exec(query)).all()]


async def test_a_failing_target_is_retried_per_policy_then_dead_lettered_across_a_restart(
    api: httpx.AsyncClient, worker: None, settings: Settings, temporal_client: Client, sessions: SessionMaker
) -> None:
    machine = await create_machine(api, PASS)
    dead = await create_function(api, ECHO, "dlq")
    schedule = unique("doomed")
    body = {
        "scheduleExpression": "rate(1 hour)",
        "target": {
            "arn": _arn(settings, "stateMachine", machine), "input": '{"n": 7}',
            "retryPolicy": {"maximumRetryAttempts": 2, "maximumEventAgeInSeconds": 3600},
            "deadLetterConfig": {"arn": _arn(settings, "function", dead)},
        },
    }  # fmt: skip
    assert (await api.post(f"/v1/schedules/{schedule}", json=body)).status_code == 201
    assert (await api.delete(f"/v1/state-machines/{machine}")).status_code == 204  # the target is gone
    await temporal_client.get_schedule_handle(f"stepline-schedule-{schedule}").trigger()
    for _ in range(100):
        if await _rows(sessions, schedule):
            break
        await asyncio.sleep(0.2)
    first = Deliverer(settings, sessions, retry_seconds=0.05)
    await first.deliver_due()  # attempt 1 fails; this deliverer is gone (a worker restart)
    (row,) = await _rows(sessions, schedule)
    assert (row.status, row.attempts) == ("PENDING", 1) and "StateMachineDoesNotExist" in (row.error or "")
    status = (await api.get(f"/v1/schedules/{schedule}")).json()
    assert "StateMachineDoesNotExist" in status["lastError"]
    second = Deliverer(settings, sessions, retry_seconds=0.05)
    for _ in range(50):
        await second.deliver_due()
        rows = {r.target_id: r for r in await _rows(sessions, schedule)}
        if DEAD_LETTER in rows and rows[DEAD_LETTER].status == "DELIVERED":
            break
        await asyncio.sleep(0.1)
    assert rows[schedule].status == "FAILED" and rows[schedule].attempts == 3  # 1 + MaximumRetryAttempts
    (letter,) = await _events(sessions, dead)
    (record,) = letter["Records"]
    attributes = {k: v["stringValue"] for k, v in record["messageAttributes"].items()}
    assert record["body"] == '{"n": 7}' and record["eventSource"] == "aws:sqs"
    assert attributes["ERROR_CODE"] == "StateMachineDoesNotExist"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "2" and attributes["EXECUTION_ID"] == rows[schedule].id
    assert attributes["TARGET_ARN"] == _arn(settings, "stateMachine", machine)
    assert attributes["SCHEDULE_ARN"].endswith(f":schedule/default/{schedule}")
    assert attributes["SCHEDULED_TIME"].endswith("Z")
    metrics = RuleMetrics()
    await metrics.refresh(sessions)
    assert (schedule, "FAILED", 1) in metrics._schedules  # the dead letter is not a slot of its own
    assert (await api.delete(f"/v1/schedules/{schedule}")).status_code == 204


async def test_a_schedule_is_updated_and_listed_by_group(api: httpx.AsyncClient, settings: Settings) -> None:
    machine = await create_machine(api, PASS)
    group = unique("team")
    assert (await api.post(f"/v1/schedule-groups/{group}")).status_code == 201
    assert (await api.post(f"/v1/schedule-groups/{group}")).status_code == 409
    target = {"arn": _arn(settings, "stateMachine", machine)}
    names = [unique("a-nightly"), unique("b-hourly")]
    for name in names:
        body = {"scheduleExpression": "rate(1 hour)", "groupName": group, "target": target}
        assert (await api.post(f"/v1/schedules/{name}", json=body)).status_code == 201
    changed = {
        "scheduleExpression": "cron(0 3 * * ? *)", "scheduleExpressionTimezone": "Europe/Paris",
        "state": "DISABLED", "groupName": group, "target": {**target, "input": '{"x": 1}'},
    }  # fmt: skip
    updated = await api.put(f"/v1/schedules/{names[0]}", json=changed)
    assert updated.status_code == 200, updated.text
    got = (await api.get(f"/v1/schedules/{names[0]}", params={"groupName": group})).json()
    assert (got["scheduleExpression"], got["state"], got["target"]["input"]) == (
        "cron(0 3 * * ? *)", "DISABLED", '{"x": 1}',
    )  # fmt: skip
    assert got["lastModificationDate"] > got["creationDate"]
    assert (await api.get(f"/v1/schedules/{names[0]}")).status_code == 404  # not in the default group
    first = (await api.get("/v1/schedules", params={"groupName": group, "limit": 1})).json()
    second = (
        await api.get(
            "/v1/schedules", params={"groupName": group, "limit": 1, "nextToken": first["nextToken"]}
        )
    ).json()
    assert [s["name"] for s in first["schedules"] + second["schedules"]] == names
    disabled = (await api.get("/v1/schedules", params={"groupName": group, "state": "DISABLED"})).json()
    assert [s["name"] for s in disabled["schedules"]] == names[:1]
    bad = await api.put(f"/v1/schedules/{names[0]}", json={**changed, "scheduleExpression": "rate(0 hours)"})
    assert bad.status_code == 400 and "at least 1" in bad.text
    missing = await api.put(f"/v1/schedules/{unique('nope')}", json=changed)
    assert missing.status_code == 404
    assert (await api.get("/v1/schedules", params={"nextToken": "garbage"})).status_code == 400
    assert (await api.delete(f"/v1/schedule-groups/{group}")).status_code == 204
    assert (await api.get("/v1/schedules", params={"groupName": group})).json()["schedules"] == []
    assert (await api.get(f"/v1/schedule-groups/{group}")).status_code == 404


async def test_a_started_and_a_redriven_execution_put_running_on_the_default_bus(
    api: httpx.AsyncClient, worker: None, settings: Settings, sessions: SessionMaker
) -> None:
    machine = await create_machine(api, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}})
    function = await create_function(api, ECHO, "watch")
    rule = unique("running")
    pattern = {"source": ["aws.states"], "detail": {"status": ["RUNNING"], "stateMachineArn": [
        _arn(settings, "stateMachine", machine)]}}  # fmt: skip
    base = f"/v1/event-buses/default/rules/{rule}"
    assert (await api.put(base, json={"eventPattern": pattern})).status_code in (200, 201)
    targets = {"targets": [{"id": "fn", "arn": _arn(settings, "function", function)}]}
    assert (await api.put(f"{base}/targets", json=targets)).status_code == 200
    deliverer = Deliverer(settings, sessions)

    async def running(count: int) -> list[Any]:
        for _ in range(50):
            await deliverer.deliver_due()
            if len(found := await _events(sessions, function)) >= count:
                break
            await asyncio.sleep(0.1)
        return sorted(found, key=lambda e: e["detail"]["redriveCount"])

    try:
        started = await start(api, machine, {"k": 1})
        assert (await wait_until_done(api, started["executionId"]))["status"] == "FAILED"
        redriven = await api.post(f"/v1/executions/{started['executionId']}/redrive")
        assert redriven.status_code in (200, 201), redriven.text
        found = await running(2)
    finally:  # no rule left on the default bus: later executions queue no status change
        async with unit_of_work(sessions) as session:
            await registry.remove_target(session, "default", rule, "fn")
            await registry.delete_rule(session, "default", rule)
    first, second = found
    assert first["detail-type"] == "Step Functions Execution Status Change"
    assert first["detail"]["status"] == "RUNNING" and first["detail"]["stopDate"] is None
    assert first["detail"]["name"] == started["name"] and json.loads(first["detail"]["input"]) == {"k": 1}
    assert (second["detail"]["status"], second["detail"]["redriveCount"]) == ("RUNNING", 1)


async def test_retention_removes_old_delivered_rows_only(settings: Settings, sessions: SessionMaker) -> None:
    rule = unique("retained")
    old = datetime.now(UTC) - timedelta(days=2)
    ids = {status: f"{rule[:20]}-{status.lower()}" for status in ("DELIVERED", "PENDING", "FAILED")}
    async with unit_of_work(sessions) as session:
        for status, delivery_id in ids.items():
            await registry.add_delivery_once(session, delivery_id, ("schedule", rule), "arn:x", "{}")
            await session.exec(
                update(registry.EventDelivery)
                .where(col(registry.EventDelivery.id) == delivery_id)
                .values(status=status, created_at=old)
            )
        await registry.add_delivery_once(session, f"{rule[:20]}-fresh", ("schedule", rule), "arn:x", "{}")
        await session.exec(
            update(registry.EventDelivery)
            .where(col(registry.EventDelivery.id) == f"{rule[:20]}-fresh")
            .values(status="DELIVERED")
        )
    metrics = RuleMetrics()
    await metrics.refresh(sessions)
    assert (rule, "DELIVERED", 2) in metrics._schedules
    assert await Deliverer(settings, sessions).prune() >= 1
    left = {r.id: r.status for r in await _rows(sessions, rule)}
    assert left == {ids["PENDING"]: "PENDING", ids["FAILED"]: "FAILED", f"{rule[:20]}-fresh": "DELIVERED"}
    await metrics.refresh(sessions)
    assert (rule, "DELIVERED", 2) in metrics._schedules  # the pruned row is tallied
    async with unit_of_work(sessions) as session:  # the count bound: only the newest are kept
        await registry.prune_delivered(session, max_age=timedelta(days=30), keep=0)
    assert {r.id for r in await _rows(sessions, rule)} == {ids["PENDING"], ids["FAILED"]}
    await metrics.refresh(sessions)
    assert (rule, "DELIVERED", 2) in metrics._schedules


async def test_action_after_completion_delete_deletes_a_schedule_with_no_slot_left(
    api: httpx.AsyncClient, worker: None, settings: Settings, temporal_client: Client, sessions: SessionMaker
) -> None:
    machine = await create_machine(api, PASS)
    target = {"arn": _arn(settings, "stateMachine", machine)}
    body = {"scheduleExpression": "rate(1 hour)", "actionAfterCompletion": "DELETE", "target": target}
    hourly = unique("hourly")  # slots left after this one: it stays
    assert (await api.post(f"/v1/schedules/{hourly}", json=body)).status_code == 201
    await temporal_client.get_schedule_handle(f"stepline-schedule-{hourly}").trigger()
    schedule = unique("once")
    moment = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    body["scheduleExpression"] = f"at({moment})"  # (a manual trigger leaves its one slot to come)
    assert (await api.post(f"/v1/schedules/{schedule}", json=body)).status_code == 201
    for _ in range(100):
        if (await api.get(f"/v1/schedules/{schedule}")).status_code == 404:
            break
        await asyncio.sleep(0.2)
    assert (await api.get(f"/v1/schedules/{schedule}")).status_code == 404
    assert len(await _rows(sessions, schedule)) == 1  # its slot was queued before it went
    listed = (await api.get("/v1/schedules", params={"namePrefix": schedule})).json()
    assert listed["schedules"] == []
    assert len(await _rows(sessions, hourly)) == 1  # fired too (before the one-time one), and kept
    assert (await api.get(f"/v1/schedules/{hourly}")).json()["actionAfterCompletion"] == "DELETE"
    assert (await api.delete(f"/v1/schedules/{hourly}")).status_code == 204


async def test_a_dead_letter_on_a_bus_is_an_event_a_rule_routes(
    api: httpx.AsyncClient, settings: Settings, sessions: SessionMaker
) -> None:
    function = await create_function(api, ECHO, "dlq-rule")
    bus, rule, schedule = unique("dead"), unique("letters"), unique("gone")
    async with unit_of_work(sessions) as session:
        await registry.create_bus(session, bus, "")
    pattern = {"source": ["aws.scheduler"], "detail-type": ["Scheduler Dead-letter Event"]}
    base = f"/v1/event-buses/{bus}/rules/{rule}"
    assert (await api.put(base, json={"eventPattern": pattern})).status_code in (200, 201)
    targets = {"targets": [{"id": "fn", "arn": _arn(settings, "function", function)}]}
    assert (await api.put(f"{base}/targets", json=targets)).status_code == 200
    policy = Policy(retries=0, dead_letter_arn=event_bus_arn(bus, settings.region), schedule_arn="arn:s")
    async with unit_of_work(sessions) as session:
        await registry.add_delivery_once(
            session, unique("slot")[:36], ("schedule", schedule),
            _arn(settings, "stateMachine", unique("no")), '{"x": 1}', policy.dumps(),
        )  # fmt: skip
    deliverer = Deliverer(settings, sessions)
    await deliverer.deliver_due()  # fails for good: the dead letter is put on the bus
    await deliverer.deliver_due()  # routed by the rule, delivered to the function
    (event,) = await _events(sessions, function)
    assert (event["source"], event["detail-type"], event["resources"]) == (
        "aws.scheduler", "Scheduler Dead-letter Event", ["arn:s"],
    )  # fmt: skip
    attributes = event["detail"]["messageAttributes"]
    assert attributes["EXHAUSTED_RETRY_CONDITION"]["stringValue"] == "MaximumRetryAttempts"
    assert event["detail"]["body"] == '{"x": 1}'
