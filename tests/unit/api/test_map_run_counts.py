"""Both doors (``/v1`` and DescribeMapRun) read map runs through ``api.services.map_runs``, which
answers every count field AWS names, also for rows written before some of them existed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlmodel.ext.asyncio.session import AsyncSession

from api.services.map_runs import _settled
from foundation.registry.map_runs import MapRun

OLD_COUNTS = {
    "pending": 0, "running": 0, "succeeded": 3, "failed": 1, "timedOut": 0, "aborted": 0,
    "total": 4, "resultsWritten": 4,
}  # fmt: skip


def run(counts: dict[str, Any], status: str = "FAILED") -> MapRun:
    return MapRun(
        map_run_arn="arn:aws:states:us-east-1:000000000000:mapRun:m/Map:1",
        execution_id="arn:aws:states:us-east-1:000000000000:execution:m:e",
        status=status,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        max_concurrency=0,
        tolerated_failure_count=0,
        tolerated_failure_percentage=0.0,
        item_counts=counts,
        execution_counts=counts,
    )


async def test_a_row_written_before_the_redrive_counts_answers_them_as_zero() -> None:
    no_session = cast(AsyncSession, None)  # an ended run is answered without reading its execution
    answered = await _settled(no_session, run(OLD_COUNTS))
    expected = {**OLD_COUNTS, "failuresNotRedrivable": 0, "pendingRedrive": 0}
    assert answered.item_counts == expected and answered.execution_counts == expected


async def test_counts_a_row_holds_are_answered_unchanged() -> None:
    counts = {**OLD_COUNTS, "failuresNotRedrivable": 1, "pendingRedrive": 2}
    answered = await _settled(cast(AsyncSession, None), run(counts, status="SUCCEEDED"))
    assert answered.item_counts == counts and answered.execution_counts == counts
    assert answered.status == "SUCCEEDED"
