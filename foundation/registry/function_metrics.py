"""Per-function figures over time: read from what invocations already store (their REPORT log
lines), and from samples of the runtime's error and throttle counters (``function_metric_sample``,
written off the invocation path by ``workers.functions.metric_samples``); and the stored log lines
after a cursor, for the console's live tail.

Nothing is written for them: each invocation's REPORT line (``workers.functions.logs``) carries its
duration, billed duration, memory size and, on a cold start, its Init Duration. A function can print
a line that looks like a REPORT line, so only the last REPORT line of each request id counts (the
real one is written after everything the function printed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Column, DateTime, Index, delete, insert, text
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)


class FunctionMetricSample(SQLModel, table=True):
    """Errors and throttles one process counted for a function since its previous sample."""

    __tablename__ = "function_metric_sample"
    __table_args__ = (Index("ix_function_metric_sample_function_time", "function_name", "sampled_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    function_name: str = Field(max_length=64)
    sampled_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    errors: int
    throttles: int


async def add_samples(
    session: AsyncSession, sampled_at: datetime, counts: dict[str, tuple[int, int]]
) -> None:
    """One row per function: (errors, throttles) counted since the previous sample."""
    rows = [
        {"function_name": name, "sampled_at": sampled_at, "errors": errors, "throttles": throttles}
        for name, (errors, throttles) in counts.items()
    ]
    if rows:
        await session.exec(insert(FunctionMetricSample).values(rows))


async def prune_samples(session: AsyncSession, older_than: datetime) -> None:
    await session.exec(delete(FunctionMetricSample).where(col(FunctionMetricSample.sampled_at) < older_than))


_SAMPLES = text(
    "SELECT date_bin(:period, sampled_at, :start) AS bucket, sum(errors), sum(throttles)"
    " FROM function_metric_sample WHERE function_name = :name AND sampled_at >= :start AND sampled_at < :end"
    " GROUP BY bucket"
)


async def sample_buckets(
    session: AsyncSession, name: str, start: datetime, end: datetime, period: timedelta
) -> dict[datetime, tuple[int, int]]:
    """(errors, throttles) per bucket of ``period`` from ``start``, by the time they were sampled."""
    statement = _SAMPLES.bindparams(name=name, start=start, end=end, period=period)
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


_REPORTS = """
WITH report AS (
  SELECT DISTINCT ON (request_id) timestamp, message
  FROM function_log
  WHERE function_name = :name AND timestamp >= :start AND timestamp < :end
    AND message LIKE 'REPORT RequestId: %'
  ORDER BY request_id, id DESC
), parsed AS (
  SELECT timestamp,
    CAST(substring(message from 'Duration: ([0-9.]+) ms') AS float8) AS duration_ms,
    CAST(substring(message from 'Billed Duration: ([0-9]+) ms') AS float8) AS billed_ms,
    CAST(substring(message from 'Memory Size: ([0-9]+) MB') AS float8) AS memory_mb,
    message LIKE '%Init Duration: %' AS cold
  FROM report
)
SELECT date_bin(:period, timestamp, :start) AS bucket, count(*) AS invocations,
  count(*) FILTER (WHERE cold) AS cold_starts,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
  percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99,
  coalesce(sum(billed_ms * memory_mb), 0) / 1024000.0 AS gb_seconds
FROM parsed GROUP BY bucket ORDER BY bucket
"""


@dataclass(frozen=True)
class Bucket:
    """The invocations that ended in ``[start, start + period)``."""

    start: datetime
    invocations: int
    cold_starts: int
    duration_p50_ms: float | None
    duration_p99_ms: float | None
    gb_seconds: float
    """Billed duration x memory size, in GB-seconds (Lambda's GB is 1,024 MB)."""


async def report_buckets(
    session: AsyncSession, name: str, start: datetime, end: datetime, period: timedelta
) -> list[Bucket]:
    """Buckets of ``period`` from ``start`` (those without invocations left out)."""
    statement = text(_REPORTS).bindparams(name=name, start=start, end=end, period=period)
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    return [
        Bucket(row[0], int(row[1]), int(row[2]), _float(row[3]), _float(row[4]), float(row[5]))
        for row in rows
    ]


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


_LOG_LINES = text(
    "SELECT id, timestamp, request_id, message FROM function_log"
    " WHERE function_name = :name AND id > :after AND timestamp >= :since ORDER BY id LIMIT :limit"
)


@dataclass(frozen=True)
class LogLine:
    id: int
    """Increasing with each stored line: a stream's cursor."""
    timestamp: datetime
    request_id: str
    message: str


async def log_lines_after(
    session: AsyncSession, name: str, after_id: int, since: datetime, limit: int
) -> list[LogLine]:
    """Up to ``limit`` stored lines of function ``name`` after line ``after_id``, none before ``since``."""
    statement = _LOG_LINES.bindparams(name=name, after=after_id, since=since, limit=limit)
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    return [LogLine(int(r[0]), r[1], str(r[2]), str(r[3])) for r in rows]
