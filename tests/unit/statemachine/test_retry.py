"""Error-name matching for Retry/Catch and backoff delays."""

from __future__ import annotations

import pytest

from statemachine.retry import backoff_seconds, error_matches


@pytest.mark.parametrize(
    ("error_equals", "error", "expected"),
    [
        (["States.ALL"], "Lambda.Unknown", True),
        (["States.ALL"], "States.Timeout", True),
        (["States.ALL"], "States.Runtime", False),
        (["States.Runtime"], "States.Runtime", True),
        (["States.ALL"], "States.DataLimitExceeded", True),
        (["States.TaskFailed"], "CustomError", True),
        (["States.TaskFailed"], "States.Timeout", False),
        (["States.TaskFailed"], "States.HeartbeatTimeout", False),
        (["States.TaskFailed"], "States.Runtime", False),
        (["States.Timeout"], "States.Timeout", True),
        (["A", "B"], "B", True),
        (["A"], "a", False),
    ],
    ids=[
        "all-custom",
        "all-timeout",
        "all-not-runtime",
        "runtime-by-name",
        "all-data-limit",
        "taskfailed-custom",
        "taskfailed-not-timeout",
        "taskfailed-not-heartbeat",
        "taskfailed-not-runtime",
        "exact",
        "second-of-list",
        "case-sensitive",
    ],
)
def test_error_matches(error_equals: list[str], error: str, expected: bool) -> None:
    assert error_matches(error_equals, error) is expected


@pytest.mark.parametrize(
    ("attempt", "interval", "rate", "max_delay", "expected"),
    [
        (0, 1.0, 2.0, None, 1.0),
        (1, 1.0, 2.0, None, 2.0),
        (3, 3.0, 1.5, None, 10.125),
        (5, 1.0, 2.0, 10.0, 10.0),
        (2000, 1.0, 2.0, 5.0, 5.0),
    ],
    ids=["first", "second", "fractional-rate", "capped", "huge-attempt-capped"],
)
def test_backoff(
    attempt: int, interval: float, rate: float, max_delay: float | None, expected: float
) -> None:
    assert backoff_seconds(attempt, interval, rate, max_delay, False, lambda: 0.5) == pytest.approx(expected)


def test_full_jitter_scales_by_random() -> None:
    assert backoff_seconds(2, 1.0, 2.0, None, True, lambda: 0.25) == pytest.approx(1.0)
