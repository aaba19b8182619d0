"""What Stepline itself puts on the default bus, so that a rule can chain on it:

``Step Functions Execution Status Change`` (source ``aws.states``) when an execution starts (or is
redriven: RUNNING) and when it ends, with the detail AWS sends (``executionArn``, ``stateMachineArn``,
``name``, ``status``, ``startDate`` and ``stopDate`` in epoch milliseconds, ``input``, ``output``,
``error``, ``cause``). It is published only when the bus has an enabled rule (one query otherwise),
in the caller's transaction. RUNNING is published by the deliverer, off the request path: the
``execution_started`` trigger queues it in the transaction that inserts the execution.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.registry import event_bus as registry
from foundation.registry import executions as executions_registry
from statemachine import DEFAULT_ACCOUNT, execution_arn, state_machine_arn
from workers.events.bus import publish

EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _event(
    source: str, detail_type: str, resources: list[str], detail: dict[str, Any], region: str
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": DEFAULT_ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": resources,
        "detail": detail,
    }


async def execution_ended(session: AsyncSession, execution_id: str, region: str) -> int:
    """Publish the status change of a finished execution; the number of rules it matched."""
    if not await registry.enabled_rules(session, registry.DEFAULT_BUS):
        return 0
    row = await session.get(executions_registry.Execution, execution_id, populate_existing=True)
    if row is None or row.status == executions_registry.RUNNING:
        return 0
    return await _publish(session, row, region)


async def execution_started(session: AsyncSession, execution_id: str, region: str) -> int:
    """Publish the RUNNING status change of a started (or redriven) execution."""
    row = await session.get(executions_registry.Execution, execution_id)
    if row is None:
        return 0
    running = executions_registry.Execution.model_validate(
        {**row.model_dump(), "status": executions_registry.RUNNING, "output": None, "error": None,
         "cause": None, "stop_date": None}
    )  # fmt: skip
    return await _publish(session, running, region)


async def _publish(session: AsyncSession, row: executions_registry.Execution, region: str) -> int:
    arn = execution_arn(row.state_machine_name, row.name, region)
    detail = {
        "executionArn": arn,
        "stateMachineArn": state_machine_arn(row.state_machine_name, region),
        "name": row.name,
        "status": row.status,
        "startDate": _millis(row.start_date),
        "stopDate": _millis(row.stop_date),
        "input": row.input,
        "output": row.output,
        "inputDetails": {"included": True},
        "outputDetails": {"included": row.output is not None},
        "error": row.error,
        "cause": row.cause,
        "redriveCount": row.redrive_count,
    }
    event = _event("aws.states", EXECUTION_STATUS_CHANGE, [arn], detail, region)
    return await publish(session, event, region)
