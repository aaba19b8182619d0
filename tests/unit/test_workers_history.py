"""The workflow's history helpers: pages for the query, size-bounded chunks for PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from statemachine.host import HistoryEvent
from workers.contracts import HistoryQuery
from workers.workflow import chunks, page_of

EVENTS = [
    HistoryEvent(
        i, i - 1, datetime(2026, 1, 1, tzinfo=UTC), "PassStateEntered", "stateEnteredEventDetails", {"n": i}
    )
    for i in range(1, 11)
]


@pytest.mark.parametrize(
    ("query", "ids", "more"),
    [
        (HistoryQuery(None, 3, False), [1, 2, 3], True),
        (HistoryQuery(3, 3, False), [4, 5, 6], True),
        (HistoryQuery(7, 3, False), [8, 9, 10], False),
        (HistoryQuery(None, 4, True), [10, 9, 8, 7], True),
        (HistoryQuery(3, 5, True), [2, 1], False),
        (HistoryQuery(10, 5, False), [], False),
    ],
    ids=["first", "middle", "last-exact", "reverse-first", "reverse-last", "past-the-end"],
)
def test_page_of(query: HistoryQuery, ids: list[int], more: bool) -> None:
    page = page_of(EVENTS, query)
    assert [e["id"] for e in page.events] == ids
    assert page.more is more


def test_chunks_hold_every_event_once_in_order() -> None:
    parts = chunks(EVENTS, 300)
    assert len(parts) > 1
    decoded = [e for part in parts for e in json.loads(part)]
    assert decoded == [e.to_json() for e in EVENTS]
    assert all(len(part) <= 300 or len(json.loads(part)) == 1 for part in parts)


def test_an_event_larger_than_a_chunk_gets_its_own() -> None:
    big = HistoryEvent(1, 0, datetime(2026, 1, 1, tzinfo=UTC), "X", "d", {"blob": "x" * 1000})
    assert [len(json.loads(p)) for p in chunks([big, *EVENTS[1:3]], 400)] == [1, 2]


def test_no_events_no_chunks() -> None:
    assert chunks([], 100) == []
