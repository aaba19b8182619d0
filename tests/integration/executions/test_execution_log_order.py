"""GET /v1/execution-logs' order: as stored, or newest first (``reverseOrder``), each paged by its
own tokens (a token of one order is refused by the other)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from api.services import execution_logs as service
from foundation.errors import InvalidRequest
from foundation.registry import execution_logs as registry
from foundation.registry.database import create_engine, session_maker, unit_of_work
from foundation.registry.execution_logs import LogRow
from statemachine import express_execution_arn

pytestmark = pytest.mark.integration


async def test_log_events_page_newest_first(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=2)
    sessions = session_maker(engine)
    machine = f"ordered-{os.urandom(3).hex()}"
    arn = express_execution_arn(machine, "n", os.urandom(4).hex())
    now = datetime.now(UTC)
    rows = [
        LogRow("order-group", machine, arn, 1, k, f"E{k}", now, f'{{"id": "{k}", "type": "E{k}"}}')
        for k in (1, 2, 3)
    ]
    try:
        async with unit_of_work(sessions) as session:
            await registry.add_events(session, rows)
        async with unit_of_work(sessions) as session:
            newest = await service.page(session, 2, None, None, machine, None, newest_first=True)
            assert [e["message"]["id"] for e in newest["events"]] == ["3", "2"]
            rest = await service.page(session, 2, newest["nextToken"], None, machine, None, newest_first=True)
            assert [e["message"]["id"] for e in rest["events"]] == ["1"] and rest["nextToken"] is None
            oldest = await service.page(session, 2, None, None, machine, None)
            assert [e["message"]["id"] for e in oldest["events"]] == ["1", "2"]
            with pytest.raises(InvalidRequest, match="another listing"):
                await service.page(session, 2, newest["nextToken"], None, machine, None)
    finally:
        await engine.dispose()
