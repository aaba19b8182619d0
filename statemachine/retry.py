"""Retry and Catch as AWS matches them: error names, States.ALL's exceptions, and backoff delays."""

from __future__ import annotations

from collections.abc import Callable, Iterable

ALL = "States.ALL"
TASK_FAILED = "States.TaskFailed"

UNCATCHABLE_BY_ALL = frozenset({"States.Runtime"})
"""Errors that States.ALL does not match. (AWS's recorded behaviour: States.ALL does catch a
States.DataLimitExceeded raised by a task result; an oversized *state output* is terminal instead,
see ``faults.TerminalError``.)"""

NOT_TASK_FAILED = UNCATCHABLE_BY_ALL | {
    "States.Timeout",
    "States.HeartbeatTimeout",
    "States.DataLimitExceeded",
}
"""Errors that the States.TaskFailed wildcard does not match."""


def error_matches(error_equals: Iterable[str], error: str) -> bool:
    """Whether a Retry/Catch ``ErrorEquals`` list covers the error named ``error``."""
    for name in error_equals:
        if name == error:
            return True
        if name == ALL and error not in UNCATCHABLE_BY_ALL:
            return True
        if name == TASK_FAILED and error not in NOT_TASK_FAILED:
            return True
    return False


def backoff_seconds(
    attempt: int,
    interval_seconds: float,
    backoff_rate: float,
    max_delay_seconds: float | None,
    full_jitter: bool,
    random: Callable[[], float],
) -> float:
    """The wait before retry number ``attempt`` (0 for the first retry).

    ``IntervalSeconds * BackoffRate ** attempt``, capped at ``MaxDelaySeconds``; with FULL jitter a
    uniformly random fraction of that.
    """
    delay = interval_seconds * backoff_rate**attempt if attempt < 1024 else float("inf")
    if max_delay_seconds is not None:
        delay = min(delay, max_delay_seconds)
    delay = min(delay, 31_622_400.0)
    if full_jitter:
        delay *= random()
    return delay
