"""``events:putEvents`` on Stepline's own bus, when the operator points the ``events`` endpoint at it
(``STEPLINE_INTEGRATIONS__ENDPOINTS='{"events": {"url": "stepline:"}}'``).

Each valid entry is queued in the registry (in one transaction) and routed by the events deliverer
(``workers.events``): rules match it and their targets receive it, at least once. The answer is
PutEvents': an ``EventId`` per accepted entry, ``ErrorCode``/``ErrorMessage`` per refused one.
"""

from __future__ import annotations

import json
from typing import Any, Final

from foundation.registry import event_bus as registry
from foundation.registry.database import SessionMaker, unit_of_work

LOCAL_BUS_URL: Final = "stepline:"


def _problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "The entry is not an object."
    for member in ("Source", "DetailType", "Detail"):
        if not isinstance(entry.get(member), str) or not entry[member]:
            return f"Parameter {member} is not valid."
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        detail = None
    return None if isinstance(detail, dict) else "Detail is malformed."


def _bus(entry: dict[str, Any]) -> str:
    name = entry.get("EventBusName") or registry.DEFAULT_BUS
    return str(name).rsplit("event-bus/", 1)[-1]


async def put_events(sessions: SessionMaker, params: dict[str, Any]) -> dict[str, Any]:
    """PutEvents' answer; accepted entries are queued for routing."""
    answers: list[dict[str, Any]] = []
    failed = 0
    async with unit_of_work(sessions) as session:
        for entry in params.get("Entries") or []:
            problem = _problem(entry)
            if problem is None:
                try:
                    await registry.check_bus(session, _bus(entry))
                except registry.EventBusNotFound as exc:
                    problem = exc.detail
            if problem is not None:
                failed += 1
                answers.append({"ErrorCode": "InvalidArgument", "ErrorMessage": problem})
                continue
            answers.append({"EventId": await registry.add_inbound(session, _bus(entry), json.dumps(entry))})
    return {"FailedEntryCount": failed, "Entries": answers}
