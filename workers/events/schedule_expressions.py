"""EventBridge Scheduler's expressions as Temporal schedule specs (pure).

``rate(N minute|minutes|hour|hours|day|days)`` -> an interval; ``cron(min hour dom month dow year)``
(AWS's six fields, ``?`` for "any", day-of-week 1-7 = SUN-SAT) -> a standard five-field cron (the year
must be ``*``; ``L``, ``W`` and ``#`` are refused); ``at(yyyy-mm-ddThh:mm:ss)`` -> one calendar moment,
fired once. ``ScheduleExpressionTimezone`` applies to cron and at, ``FlexibleTimeWindow`` becomes
jitter, ``StartDate``/``EndDate`` bound the spec.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import ScheduleCalendarSpec, ScheduleIntervalSpec, ScheduleRange, ScheduleSpec

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/\-]+$")
_DAY_NUMBER = re.compile(r"\d+")


class InvalidScheduleExpression(ValueError):
    """The expression, time zone or window cannot be scheduled; the message says why."""


@dataclass(frozen=True, slots=True)
class Parsed:
    spec: ScheduleSpec
    one_time: bool


def parse(
    expression: str, timezone: str = "UTC", *, flexible_minutes: int | None = None,
    start: datetime | None = None, end: datetime | None = None,
) -> Parsed:  # fmt: skip
    """The Temporal spec of a Scheduler expression (``InvalidScheduleExpression`` when it has none)."""
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidScheduleExpression(f"Unknown time zone {timezone!r}.") from None
    if flexible_minutes is not None and not 1 <= flexible_minutes <= 1440:
        raise InvalidScheduleExpression("MaximumWindowInMinutes must be between 1 and 1440.")
    if start is not None and end is not None and start >= end:
        raise InvalidScheduleExpression("StartDate must be before EndDate.")
    jitter = timedelta(minutes=flexible_minutes) if flexible_minutes else None
    text = expression.strip()
    common = {"start_at": start, "end_at": end, "jitter": jitter, "time_zone_name": timezone}
    if match := _RATE.match(text):
        value, unit = int(match.group(1)), match.group(2).rstrip("s")
        if value < 1:
            raise InvalidScheduleExpression("A rate must be at least 1.")
        if (value == 1) != (not match.group(2).endswith("s")):
            raise InvalidScheduleExpression(f"Use 'rate(1 {unit})' or 'rate(N {unit}s)'.")
        every = timedelta(seconds=value * _UNITS[unit])
        return Parsed(ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)], **common), False)  # type: ignore[arg-type]
    if match := _CRON.match(text):
        return Parsed(ScheduleSpec(cron_expressions=[_cron(match.group(1))], **common), False)  # type: ignore[arg-type]
    if match := _AT.match(text):
        try:
            moment = datetime.fromisoformat(match.group(1))
        except ValueError:
            raise InvalidScheduleExpression(f"{match.group(1)!r} is not a date and time.") from None
        calendar = ScheduleCalendarSpec(
            second=[ScheduleRange(moment.second)], minute=[ScheduleRange(moment.minute)],
            hour=[ScheduleRange(moment.hour)], day_of_month=[ScheduleRange(moment.day)],
            month=[ScheduleRange(moment.month)], year=[ScheduleRange(moment.year)],
            day_of_week=[ScheduleRange(0, 6)],
        )  # fmt: skip
        return Parsed(ScheduleSpec(calendars=[calendar], **common), True)  # type: ignore[arg-type]
    raise InvalidScheduleExpression(
        f"Invalid Schedule Expression {expression!r}: use rate(...), cron(...) or at(yyyy-mm-ddThh:mm:ss)."
    )


def _cron(body: str) -> str:
    fields = body.split()
    if len(fields) != 6:
        raise InvalidScheduleExpression(
            "A cron expression has six fields: minutes hours day-of-month month day-of-week year."
        )
    for field in fields:
        if not _CRON_FIELD.match(field) or any(c in field for c in "LW#"):
            raise InvalidScheduleExpression(
                f"Unsupported cron field {field!r} (L, W and # are not supported)."
            )
    minute, hour, day, month, weekday, year = fields
    if year not in ("*", "?"):
        raise InvalidScheduleExpression("Only '*' is supported in the year field.")
    if day == "?" and weekday == "?":
        raise InvalidScheduleExpression("Day-of-month and day-of-week cannot both be '?'.")
    weekday = _DAY_NUMBER.sub(lambda m: str((int(m.group(0)) - 1) % 7), weekday)
    return " ".join(f.replace("?", "*") for f in (minute, hour, day, month, weekday))
