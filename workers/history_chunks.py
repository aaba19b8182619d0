"""A finished execution's history as JSON chunks for PostgreSQL (``execution_history_chunk``).

A 1,000-state execution records 2,000 events; turning them into text is on every execution's path,
so it uses orjson (about eight times faster than ``json`` here) and falls back to ``json`` for the
values orjson refuses (integers beyond 64 bits).
"""

from __future__ import annotations

import json
from typing import NamedTuple

import orjson

from statemachine import HistoryEvent

_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS


class Chunk(NamedTuple):
    """Consecutive events as a JSON array (text), with the ids of its first and last event."""

    events: str
    first_event_id: int
    last_event_id: int


def chunks(events: list[HistoryEvent], max_bytes: int) -> list[Chunk]:
    """The events as JSON arrays of about ``max_bytes`` each (always at least one event per chunk).

    Most histories fit in one chunk: one call for the whole list costs far less than one per event.
    """
    if not events:
        return []
    whole = _dumps(events)
    if len(whole) <= max_bytes:
        return [Chunk(whole.decode(), events[0].id, events[-1].id)]
    out: list[Chunk] = []
    batch: list[HistoryEvent] = []
    texts: list[bytes] = []
    size = 0
    for event in events:
        text = _dumps(event)
        if texts and size + len(text) > max_bytes:
            out.append(_chunk(batch, texts))
            batch, texts, size = [], [], 0
        batch.append(event)
        texts.append(text)
        size += len(text) + 1
    out.append(_chunk(batch, texts))
    return out


def stored(event: HistoryEvent) -> dict[str, object]:
    """The event as stored: ``event.to_json()``, with the timestamp left for the encoder (so not JSON yet)."""
    out: dict[str, object] = {
        "id": event.id,
        "previousEventId": event.previous_event_id,
        "timestamp": event.timestamp,  # orjson writes it as ISO 8601
        "type": event.type,
    }
    if event.details_key is not None:
        out[event.details_key] = event.details if event.details is not None else {}
    return out


def _chunk(batch: list[HistoryEvent], texts: list[bytes]) -> Chunk:
    return Chunk((b"[" + b",".join(texts) + b"]").decode(), batch[0].id, batch[-1].id)


def _dumps(value: HistoryEvent | list[HistoryEvent]) -> bytes:
    try:
        return orjson.dumps(value, default=stored, option=_OPTIONS)
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits in an input or output
        return json.dumps(value, default=_stored_for_json, separators=(",", ":"), ensure_ascii=False).encode()


def _stored_for_json(value: object) -> object:
    if isinstance(value, HistoryEvent):
        return value.to_json()
    raise TypeError(f"not JSON: {type(value).__name__}")
