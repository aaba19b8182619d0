"""History events as GetExecutionHistory serves them.

The workflow and PostgreSQL keep events lossless, with ``input``/``output``/``parameters`` as JSON
values (``HistoryEvent.to_json``); Step Functions answers with those fields as JSON text, which is
what ``statemachine.history.event_json`` makes of a ``HistoryEvent``. This is the same rule applied to
the stored form, so neither store has to change.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

TEXT_FIELDS = frozenset({"input", "output", "parameters"})
"""Detail fields that Step Functions returns as JSON text (``statemachine.history._TEXT_FIELDS``)."""


def served_event(event: dict[str, Any]) -> dict[str, Any]:
    """One stored event in GetExecutionHistory's shape (a new dict; ``event`` is left alone)."""
    out = dict(event)
    for key, details in event.items():
        if key.endswith("EventDetails") and isinstance(details, dict):
            out[key] = {
                name: _json_text(value) if name in TEXT_FIELDS else value for name, value in details.items()
            }
    return out


def _json_text(value: Any) -> str:
    """Compact JSON text (orjson: a 1,000-event page is served several times faster than with ``json``)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, which only the standard library writes
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def history_body(events: list[dict[str, Any]], next_token: str | None) -> bytes:
    """GetExecutionHistory's answer (``schemas.History``) for stored or queried events, as JSON
    written in one orjson pass: validating and encoding 1,000 events through pydantic and ``json``
    cost more than reading them."""
    served = [served_event(e) for e in events]
    try:
        return orjson.dumps({"events": served, "nextToken": next_token})
    except orjson.JSONEncodeError:  # an integer beyond 64 bits outside the text fields
        return json.dumps({"events": served, "nextToken": next_token}, ensure_ascii=False).encode()
