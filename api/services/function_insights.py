"""A function's invocations over time for the console's charts, from its REPORT log lines
(``foundation.registry.function_metrics``): nothing is added to the invocation path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from api import console_schemas as schemas
from foundation.errors import InvalidRequest
from foundation.registry import function_metrics
from foundation.registry.functions import get_function

PERIODS = (60, 300, 3600)
"""Bucket sizes offered, in seconds."""
MAX_BUCKETS = 1440
DEFAULT_WINDOW = timedelta(hours=1)
SOURCE = (
    "invocations, durations, cold starts and GB-seconds: each invocation's REPORT log line; errors and "
    "throttles: the runtime's counters, sampled by each process running functions every "
    "STEPLINE_WORKER__METRIC_SAMPLE_SECONDS (10 s by default; a bucket shows them once sampled)"
)


async def metrics(
    session: AsyncSession, name: str, start: datetime | None, end: datetime | None, period: int
) -> schemas.FunctionMetrics:
    """Invocations, cold starts, duration p50/p99 and GB-seconds per ``period`` seconds in
    ``[start, end)`` (default: the last hour), one point per bucket, empty ones included."""
    await get_function(session, name)
    if period not in PERIODS:
        raise InvalidRequest(f"period must be one of {PERIODS} (seconds)", [{"location": "query:/period"}])
    end = _utc(end) or datetime.now(UTC)
    start = _utc(start) or end - DEFAULT_WINDOW
    if start >= end:
        raise InvalidRequest("start must be before end", [{"location": "query:/start"}])
    step = timedelta(seconds=period)
    count = -(-(end - start) // step)
    if count > MAX_BUCKETS:
        raise InvalidRequest(
            f"{count} buckets of {period} s from start to end; at most {MAX_BUCKETS}: "
            "widen the period or narrow the window",
            [{"location": "query:/period"}],
        )
    found = {b.start: b for b in await function_metrics.report_buckets(session, name, start, end, step)}
    failures = await function_metrics.sample_buckets(session, name, start, end, step)
    points = []
    for n in range(count):
        at = start + n * step
        bucket = found.get(at)
        errors, throttles = failures.get(at, (0, 0))
        points.append(
            schemas.MetricPoint(
                timestamp=at,
                invocations=bucket.invocations if bucket else 0,
                errors=errors,
                throttles=throttles,
                duration_p50_ms=bucket.duration_p50_ms if bucket else None,
                duration_p99_ms=bucket.duration_p99_ms if bucket else None,
                cold_starts=bucket.cold_starts if bucket else 0,
                gb_seconds=bucket.gb_seconds if bucket else 0.0,
            )
        )
    totals = schemas.MetricTotals(
        invocations=sum(p.invocations for p in points),
        errors=sum(p.errors or 0 for p in points),
        throttles=sum(p.throttles or 0 for p in points),
        cold_starts=sum(p.cold_starts for p in points),
        gb_seconds=sum(p.gb_seconds for p in points),
    )
    return schemas.FunctionMetrics(
        function_name=name, period=period, start=start, end=end, points=points, totals=totals, source=SOURCE
    )


def _utc(moment: datetime | None) -> datetime | None:
    """A time without offset is UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
