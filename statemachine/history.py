"""Step Functions history events: ids, previous ids and timestamps assigned in one place.

Details are kept as Python values (never serialised here): hosts serialise lazily when a client
asks, so recording costs a small dict per event on the hot path.
"""

from __future__ import annotations

import json

from statemachine.faults import RUNTIME, TerminalError
from statemachine.host import HistoryEvent, Host
from statemachine.json_types import JSON

NOT_TRUNCATED: dict[str, JSON] = {"truncated": False}
"""The ``inputDetails``/``outputDetails`` of every event (shared: never mutated)."""


class HistoryLimitExceeded(TerminalError):
    """The execution recorded more events than the limit allows (an endless loop, usually)."""


class History:
    """Numbers events and hands them to the host; fails the run past ``max_events``."""

    __slots__ = ("_max_events", "_now", "_record", "last_id")

    def __init__(self, host: Host, max_events: int, *, sink: bool = True) -> None:
        self._max_events = max_events
        self._now = host.now
        self._record = host.record if sink else None
        """None for a distributed Map's child runs: counted (for the limit) but not recorded."""
        self.last_id = 0

    def record(
        self,
        type_: str,
        previous: int,
        details_key: str | None = None,
        details: dict[str, JSON] | None = None,
    ) -> int:
        """Record one event after event ``previous``; returns the new event's id.

        Raises:
            HistoryLimitExceeded: the event would exceed the history limit.
        """
        event_id = self.last_id + 1
        if event_id > self._max_events and not type_.startswith("Execution"):
            raise HistoryLimitExceeded(
                RUNTIME,
                f"The execution reached the maximum number of history events ({self._max_events}).",
            )
        self.last_id = event_id
        if self._record is not None:
            self._record(HistoryEvent(event_id, previous, self._now(), type_, details_key, details))
        return event_id


_TEXT_FIELDS = frozenset({"input", "output", "parameters"})
"""Detail fields that Step Functions returns as JSON text rather than as JSON values."""


def event_json(event: HistoryEvent) -> dict[str, JSON]:
    """The event exactly as GetExecutionHistory returns it: ``input``/``output``/``parameters``
    details serialised to JSON text (kept as Python values in memory until a client asks)."""
    out = event.to_json()
    if event.details_key is not None and event.details:
        out[event.details_key] = {
            key: json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            if key in _TEXT_FIELDS
            else value
            for key, value in event.details.items()
        }
    return out
