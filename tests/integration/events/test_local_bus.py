"""``events:putEvents`` from a Task state onto Stepline's own bus (the ``events`` endpoint set to
``stepline:``): accepted entries are queued, routed by the deliverer to the rules that match, and a
state machine target starts; refused entries answer PutEvents' errors, and the Task fails on them
with EventBridge.FailedEntry as Step Functions' optimized integration does."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from foundation.registry.database import SessionMaker
from foundation.settings import IntegrationSettings, ServiceEndpointSettings, Settings
from statemachine import ServiceCall, StatesError
from tests.integration.helpers import create_machine, unique
from workers.events.delivery import Deliverer
from workers.integrations import Integrations
from workers.integrations.local_bus import LOCAL_BUS_URL

pytestmark = pytest.mark.integration

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


async def test_put_events_from_a_task_reaches_a_rule_target(
    api: httpx.AsyncClient, worker: None, settings: Settings, sessions: SessionMaker
) -> None:
    machine = await create_machine(api, PASS)
    rule = unique("from-task")
    pattern = {"source": ["orders"], "detail": {"kind": ["placed"]}}
    assert (
        await api.put(f"/v1/event-buses/default/rules/{rule}", json={"eventPattern": pattern})
    ).status_code == 200
    arn = f"arn:aws:states:{settings.region}:000000000000:stateMachine:{machine}"
    target = {"targets": [{"id": "m", "arn": arn, "inputPath": "$.detail"}]}
    assert (await api.put(f"/v1/event-buses/default/rules/{rule}/targets", json=target)).status_code == 200
    endpoints = {"events": ServiceEndpointSettings(url=LOCAL_BUS_URL)}
    integrations = Integrations(IntegrationSettings(endpoints=endpoints), settings.region, sessions)
    entries = [
        {"Source": "orders", "DetailType": "Order", "Detail": {"kind": "placed", "id": 7}},
        {"Source": "orders", "DetailType": "Order", "Detail": {"kind": "cancelled"}},
    ]
    call = ServiceCall("optimized", "events", "putEvents", json.dumps({"Entries": entries}), settings.region)
    answer = json.loads(await integrations.call(call))
    assert answer["FailedEntryCount"] == 0 and len(answer["Entries"]) == 2
    await Deliverer(settings, sessions).deliver_due()
    for _ in range(50):
        listed = (await api.get("/v1/executions", params={"stateMachine": machine})).json()["executions"]
        if listed:
            break
        await asyncio.sleep(0.2)
    assert len(listed) == 1
    rule_status = (await api.get(f"/v1/event-buses/default/rules/{rule}")).json()
    assert (rule_status["matched"], rule_status["delivered"]) == (1, 1)
    bad = ServiceCall(
        "optimized",
        "events",
        "putEvents",
        json.dumps({"Entries": [{"Source": "x", "DetailType": "y"}]}),
        settings.region,
    )
    with pytest.raises(StatesError) as failed:
        await integrations.call(bad)
    assert failed.value.name == "EventBridge.FailedEntry"
