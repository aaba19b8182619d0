"""The ``report_map_run`` activity: a Distributed Map's map run written down for DescribeMapRun."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import activity

from foundation.registry import map_runs
from foundation.registry.database import SessionMaker, unit_of_work
from statemachine import MapRunReport
from workers.contracts import REPORT_MAP_RUN


class MapRunActivities:
    """Bound to the registry."""

    def __init__(self, sessions: SessionMaker) -> None:
        self._sessions = sessions

    @activity.defn(name=REPORT_MAP_RUN)
    async def report_map_run(self, text: str) -> None:
        """Write a map run's latest report (``MapRunReport`` as JSON text; idempotent)."""
        report = MapRunReport.from_json(text)
        row = map_runs.MapRun(
            map_run_arn=report.map_run_arn,
            execution_id=report.execution_arn,
            status=report.status,
            start_date=datetime.fromisoformat(report.start_date),
            stop_date=datetime.fromisoformat(report.stop_date) if report.stop_date else None,
            max_concurrency=report.max_concurrency,
            tolerated_failure_count=report.tolerated_failure_count,
            tolerated_failure_percentage=report.tolerated_failure_percentage,
            item_counts=report.item_counts,
            execution_counts=report.execution_counts,
            execution_type=report.execution_type,
            redrive_count=report.redrive_count,
            redrive_date=datetime.fromisoformat(report.redrive_date) if report.redrive_date else None,
        )
        async with unit_of_work(self._sessions) as session:
            await map_runs.save_map_run(session, row)
            if report.outputs or report.forget:
                outputs = {int(index): value for index, value in report.outputs.items()}
                await map_runs.keep_outputs(
                    session, report.execution_arn, report.state_name, outputs, report.forget
                )

    def all(self) -> list[Callable[..., object]]:
        return [self.report_map_run]
