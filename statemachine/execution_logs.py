"""Execution logging: which history events a logging level keeps, and the log event each becomes.

Step Functions sends an execution's history events to CloudWatch Logs as JSON log events
(``id``, ``type``, ``details``, ``previous_event_id``, ``event_timestamp``, ``execution_arn``,
``redrive_count``; numbers as strings, the timestamp in epoch milliseconds) when its machine's
``loggingConfiguration`` asks for them: ``ALL`` every event, ``ERROR`` the error events, ``FATAL``
only the execution's own failure, abort or time-out, ``OFF`` none. Without ``includeExecutionData``
the ``input``/``output`` members (and their ``...Details``) are left out. Pure: the layers above
store and serve what this returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from statemachine.json_types import JSON

LEVELS: Final = ("ALL", "ERROR", "FATAL", "OFF")
"""``loggingConfiguration.level`` values, as Step Functions lists them."""

FATAL_EVENTS: Final = frozenset({"ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"})
ERROR_EVENTS: Final = FATAL_EVENTS | frozenset(
    {
        "FailStateEntered",
        "LambdaFunctionFailed",
        "LambdaFunctionScheduleFailed",
        "LambdaFunctionStartFailed",
        "LambdaFunctionTimedOut",
        "MapStateAborted",
        "MapStateFailed",
        "MapIterationAborted",
        "MapIterationFailed",
        "MapRunAborted",
        "MapRunFailed",
        "ParallelStateAborted",
        "ParallelStateFailed",
        "TaskFailed",
        "TaskStartFailed",
        "TaskStateAborted",
        "TaskSubmitFailed",
        "TaskTimedOut",
        "WaitStateAborted",
    }
)
"""The event types ``ERROR`` logs (the developer guide's "Log levels" table)."""

_DATA: Final = frozenset({"input", "inputDetails", "output", "outputDetails"})
_TEXT: Final = frozenset({"input", "output", "parameters"})


def logged(level: str, event_type: str) -> bool:
    """Whether a machine logging at ``level`` logs an event of ``event_type``."""
    if level == "ALL":
        return True
    if level == "ERROR":
        return event_type in ERROR_EVENTS
    if level == "FATAL":
        return event_type in FATAL_EVENTS
    return False


def log_event(
    event: Mapping[str, JSON],
    execution_arn: str,
    include_execution_data: bool,
    redrive_count: int = 0,
) -> dict[str, JSON]:
    """The log event of one history event in GetExecutionHistory's JSON shape (``HistoryEvent.to_json``,
    or as stored: values, not text, in ``input``/``output``; ``timestamp`` ISO-8601 text or a
    ``datetime``)."""
    out: dict[str, JSON] = {"id": str(event["id"]), "type": event["type"]}
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            out["details"] = {
                name: _text(item) if name in _TEXT else item
                for name, item in value.items()
                if include_execution_data or name not in _DATA
            }
    out["previous_event_id"] = str(event.get("previousEventId", 0))
    out["event_timestamp"] = str(epoch_ms(event["timestamp"]))
    out["execution_arn"] = execution_arn
    out["redrive_count"] = str(redrive_count)
    return out


def epoch_ms(timestamp: JSON | datetime) -> int:
    """Milliseconds since the epoch of an ISO-8601 text (or a ``datetime``)."""
    moment = timestamp if isinstance(timestamp, datetime) else datetime.fromisoformat(str(timestamp))
    return int(moment.timestamp() * 1000)


def _text(value: JSON) -> JSON:
    """A value as the JSON text Step Functions writes."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)
