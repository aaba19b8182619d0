"""Hostile names, values and bodies on every events and schedules route of /v1: 4xx or success, never a
5xx (the values of tests/security/test_api_input.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import tests.security.test_api_input as probe
from tests.integration.helpers import create_machine

pytestmark = pytest.mark.integration


async def test_hostile_input_on_events_and_schedules_routes_is_never_a_5xx(
    api: httpx.AsyncClient, worker: None
) -> None:
    machine = await create_machine(api, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    failures: list[str] = []

    async def send(method: str, url: str, **kwargs: Any) -> None:
        response = await api.request(method, url, **kwargs)
        if response.status_code >= 500 and response.status_code != 503:
            failures.append(
                f"{method} {url[:80]} {str(kwargs)[:150]} -> {response.status_code} {response.text[:200]}"
            )

    routes = [
        (m, p)
        for m, p in probe.v1_routes(api)
        if p.startswith(("/v1/schedules", "/v1/schedule-groups", "/v1/event-buses", "/v1/events"))
    ]
    assert len(routes) >= 14, routes
    fields = [
        "eventPattern",
        "state",
        "description",
        "targets",
        "entries",
        "scheduleExpression",
        "scheduleExpressionTimezone",
        "target",
        "flexibleTimeWindow",
        "startDate",
        "endDate",
        "groupName",
        "actionAfterCompletion",
    ]
    for method, path in routes:
        for odd in probe.HOSTILE_NAMES:
            url = path.replace("{name}", odd).replace("{event_bus}", odd).replace("{rule}", odd)
            await send(method, url, json={})
        known = path.replace("{name}", "s1").replace("{event_bus}", "default").replace("{rule}", "r1")
        if method in ("POST", "PUT"):
            for field in fields:
                for value in probe.HOSTILE_VALUES:
                    await send(method, known, json={field: value})
            await send(
                method,
                known,
                json={
                    "eventPattern": {"a": ["b"]},
                    "scheduleExpression": "rate(1 hour)",
                    "target": {"arn": f"arn:aws:states:us-east-1:000000000000:stateMachine:{machine}"},
                    "targets": [
                        {
                            "id": "x",
                            "arn": "arn:aws:states:us-east-1:000000000000:stateMachine:" + machine,
                            "inputTransformer": {"inputPathsMap": {"a": "$.x"}, "inputTemplate": "<a>"},
                        }
                    ],
                    "entries": [{"source": "s", "detailType": "d", "detail": {"x": "\u202e"}}],
                },
            )
    for odd in probe.HOSTILE_NAMES:
        for query in ("groupName", "namePrefix", "state", "nextToken", "limit"):
            await send("GET", "/v1/schedules", params={query: odd})
        await send("GET", "/v1/schedules/s1", params={"groupName": odd})
    assert failures == [], "\n".join(failures[:20])
