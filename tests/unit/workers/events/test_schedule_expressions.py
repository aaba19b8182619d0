"""Scheduler expressions as Temporal specs: rate, AWS cron (six fields, ?, 1-7 weekdays), at()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workers.events.schedule_expressions import InvalidScheduleExpression, parse


def test_rates() -> None:
    assert parse("rate(1 minute)").spec.intervals[0].every == timedelta(minutes=1)
    assert parse("rate(5 minutes)").spec.intervals[0].every == timedelta(minutes=5)
    assert parse("rate(2 hours)").spec.intervals[0].every == timedelta(hours=2)
    assert parse("rate(1 day)").one_time is False


@pytest.mark.parametrize(
    ("expression", "cron"),
    [
        ("cron(0 12 * * ? *)", "0 12 * * *"),
        ("cron(15 10 ? * 6 *)", "15 10 * * 5"),
        ("cron(0 18 ? * MON-FRI *)", "0 18 * * MON-FRI"),
        ("cron(0/15 * * * ? *)", "0/15 * * * *"),
        ("cron(0 8 1 * ? *)", "0 8 1 * *"),
        ("cron(0 9 ? * 1,7 *)", "0 9 * * 0,6"),
    ],
)
def test_aws_cron_becomes_five_fields(expression: str, cron: str) -> None:
    assert list(parse(expression).spec.cron_expressions) == [cron]


def test_at_is_one_moment_in_the_time_zone() -> None:
    parsed = parse("at(2030-05-06T07:08:09)", "Europe/Paris")
    assert parsed.one_time
    calendar = parsed.spec.calendars[0]
    assert (calendar.year[0].start, calendar.month[0].start, calendar.day_of_month[0].start) == (2030, 5, 6)
    assert (calendar.hour[0].start, calendar.minute[0].start, calendar.second[0].start) == (7, 8, 9)
    assert parsed.spec.time_zone_name == "Europe/Paris"


def test_window_and_bounds() -> None:
    start, end = datetime(2030, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)
    spec = parse("rate(1 hour)", flexible_minutes=15, start=start, end=end).spec
    assert (spec.jitter, spec.start_at, spec.end_at) == (timedelta(minutes=15), start, end)


@pytest.mark.parametrize(
    ("expression", "kwargs", "message"),
    [
        ("rate(0 minutes)", {}, "at least 1"),
        ("rate(3 minute)", {}, "rate(N minutes)"),
        ("rate(1 minutes)", {}, "rate(1 minute)"),
        ("rate(1 week)", {}, "Invalid Schedule Expression"),
        ("cron(0 12 * *)", {}, "six fields"),
        ("cron(0 12 ? * ? *)", {}, "both be '?'"),
        ("cron(0 12 ? * 2#1 *)", {}, "not supported"),
        ("cron(0 12 * * ? 2031)", {}, "year"),
        ("at(2030-13-01)", {}, "Invalid Schedule Expression"),
        ("at(2030-13-01T00:00:00)", {}, "not a date and time"),
        ("rate(1 hour)", {"timezone": "Nowhere/City"}, "time zone"),
        ("rate(1 hour)", {"flexible_minutes": 2000}, "between 1 and 1440"),
        (
            "rate(1 hour)",
            {"start": datetime(2031, 1, 1, tzinfo=UTC), "end": datetime(2030, 1, 1, tzinfo=UTC)},
            "before EndDate",
        ),
    ],
)
def test_refused(expression: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidScheduleExpression) as raised:
        parse(expression, **kwargs)  # type: ignore[arg-type]
    assert message in str(raised.value)
