"""Rules on ``/v1``: problem+json for bad patterns, PutEvents, delivery by the worker's deliverer to a
state machine (a redelivery after a crash between start and record starts nothing twice), the rule's
counters and last error in the API and in Prometheus."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from foundation.registry import event_bus as registry
from foundation.registry.database import create_engine, session_maker, unit_of_work
from foundation.settings import Settings
from tests.integration.helpers import create_machine, unique
from workers.events.delivery import Deliverer

pytestmark = pytest.mark.integration

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


async def _executions(api: httpx.AsyncClient, machine: str) -> list[dict[str, Any]]:
    listed = await api.get("/v1/executions", params={"stateMachine": machine})
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()["executions"]
    return found


async def test_rules_deliver_count_and_report_on_v1(
    api: httpx.AsyncClient, worker: None, settings: Settings
) -> None:
    bad = await api.put("/v1/event-buses/default/rules/bad", json={"eventPattern": {"source": "x"}})
    assert bad.status_code == 400
    assert "source must be an object or an array" in bad.text
    huge = {"source": [f"s{i}" for i in range(1000)]}
    too_long = await api.put("/v1/event-buses/default/rules/huge", json={"eventPattern": huge})
    assert too_long.status_code == 400 and "longer than 4096" in too_long.text
    machine = await create_machine(api, PASS)
    rule = unique("v1-rule")
    put = await api.put(
        f"/v1/event-buses/default/rules/{rule}",
        json={"eventPattern": {"detail": {"kind": [{"prefix": "go"}]}}},
    )
    assert put.status_code == 200, put.text
    arn = f"arn:aws:states:{settings.region}:000000000000:stateMachine:{machine}"
    gone = "arn:aws:states:us-east-1:000000000000:stateMachine:" + unique("deleted-later")
    targets = await api.put(
        f"/v1/event-buses/default/rules/{rule}/targets",
        json={"targets": [{"id": "m", "arn": arn, "inputPath": "$.detail"}]},
    )
    assert targets.json() == {"failedEntryCount": 0, "failedEntries": []}
    sent = await api.post(
        "/v1/events",
        json={
            "entries": [
                {"source": "t", "detailType": "x", "detail": {"kind": "going"}},
                {"source": "t", "detailType": "x", "detail": {"kind": "stop"}},
            ]
        },
    )
    assert sent.json()["failedEntryCount"] == 0
    engine = create_engine(settings.database.url.get_secret_value(), pool_size=2)
    sessions = session_maker(engine)
    try:
        # One delivery to a machine that does not exist: it fails after its attempts, counted as failed.
        async with unit_of_work(sessions) as session:
            target = registry.EventTarget(bus_name="default", rule_name=rule, target_id="gone", arn=gone)
            await registry.add_delivery(session, "default", rule, target, "{}")
        deliverer = Deliverer(settings, sessions, retry_seconds=0.0, max_attempts=2)
        # A crash after the start and before the record: the delivery comes due again, and the second
        # attempt finds the execution instead of starting another.
        async with unit_of_work(sessions) as session:
            (first,) = [
                d for d in await registry.claim_deliveries(session, 10, lease_seconds=0) if d.arn == arn
            ]
        await deliverer.starts.start_latest(machine, first.id, first.payload)
        assert await deliverer.deliver_due() >= 2
        async with unit_of_work(sessions) as session:
            delivered = await registry.get_delivery(session, first.id)
    finally:
        await engine.dispose()
    assert delivered is not None and (delivered.status, delivered.attempts) == ("DELIVERED", 2)
    assert [e["name"] for e in await _executions(api, machine)] == [first.id]
    assert first.payload == '{"kind":"going"}'
    found = await api.get(f"/v1/event-buses/default/rules/{rule}")
    body = found.json()
    assert (body["matched"], body["delivered"], body["failed"]) == (1, 1, 1)
    assert "does not exist" in body["lastError"]
    metrics = (await api.get("/metrics")).text
    assert f'stepline_event_rule_matched_total{{bus="default",rule="{rule}"}} 1.0' in metrics
    assert f'stepline_event_rule_failed_total{{bus="default",rule="{rule}"}} 1.0' in metrics


async def test_a_bus_holds_at_most_300_rules(api: httpx.AsyncClient, settings: Settings) -> None:
    bus = unique("crowded")
    engine = create_engine(settings.database.url.get_secret_value(), pool_size=1)
    try:
        async with unit_of_work(session_maker(engine)) as session:
            await registry.create_bus(session, bus, "")
            for index in range(300):
                await registry.put_rule(session, bus, f"r{index}", '{"a": ["b"]}', "ENABLED", "")
    finally:
        await engine.dispose()
    body = {"eventPattern": {"a": ["b"]}}
    over = await api.put(f"/v1/event-buses/{bus}/rules/one-more", json=body)
    assert over.status_code == 400 and "maximum number allowed (300)" in over.text
    assert (await api.put(f"/v1/event-buses/{bus}/rules/r7", json=body)).status_code == 200  # an update


async def test_a_rule_targets_retry_policy_and_dead_letter_target_are_checked_on_v1(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    machine = await create_machine(api, PASS)
    machine_arn = f"arn:aws:states:{settings.region}:000000000000:stateMachine:{machine}"
    base = f"/v1/event-buses/default/rules/{unique('policy')}"
    assert (
        await api.put(base, json={"eventPattern": {"source": ["x"]}, "state": "DISABLED"})
    ).status_code < 300
    target = {"id": "m", "arn": machine_arn, "retryPolicy": {"maximumRetryAttempts": 2}}
    good = await api.put(
        f"{base}/targets", json={"targets": [{**target, "deadLetterConfig": {"arn": machine_arn}}]}
    )
    assert good.status_code == 200 and good.json()["failedEntryCount"] == 0
    gone = {**target, "id": "g", "deadLetterConfig": {"arn": machine_arn + "-gone"}}
    refused = (await api.put(f"{base}/targets", json={"targets": [gone]})).json()
    assert "DeadLetterConfig" in refused["failedEntries"][0]["errorMessage"]
    too_many = {**target, "retryPolicy": {"maximumRetryAttempts": 186}}
    assert (await api.put(f"{base}/targets", json={"targets": [too_many]})).status_code in (400, 422)
