"""The workflow's history helpers: pages for the query, size-bounded chunks for PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from statemachine.host import HistoryEvent
from workers.contracts import HistoryQuery
from workers.history_chunks import chunks
from workers.workflow import page_of

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


def test_page_of_agrees_with_a_scan_for_every_cursor_and_size() -> None:
    gappy = [e for e in EVENTS if e.id not in (4, 5)]  # ids in order, not necessarily contiguous
    for events in (EVENTS, gappy):
        for after in (None, *range(0, 13)):
            for limit in (1, 2, 3, 20):
                for reverse in (False, True):
                    ordered = list(reversed(events)) if reverse else events
                    kept = [
                        e.id for e in ordered
                        if after is None or (e.id < after if reverse else e.id > after)
                    ]  # fmt: skip
                    page = page_of(events, HistoryQuery(after, limit, reverse))
                    assert [e["id"] for e in page.events] == kept[:limit]
                    assert page.more is (len(kept) > limit)


def test_chunks_hold_every_event_once_in_order_with_their_bounds() -> None:
    parts = chunks(EVENTS, 300)
    assert len(parts) > 1
    decoded = [e for part in parts for e in json.loads(part.events)]
    assert decoded == [e.to_json() for e in EVENTS]
    assert all(len(p.events) <= 300 or len(json.loads(p.events)) == 1 for p in parts)
    for part in parts:
        ids = [e["id"] for e in json.loads(part.events)]
        assert (part.first_event_id, part.last_event_id) == (ids[0], ids[-1])


def test_one_chunk_when_the_history_fits() -> None:
    [whole] = chunks(EVENTS, 100_000)
    assert json.loads(whole.events) == [e.to_json() for e in EVENTS]
    assert (whole.first_event_id, whole.last_event_id) == (1, 10)


def test_an_event_larger_than_a_chunk_gets_its_own() -> None:
    big = HistoryEvent(1, 0, datetime(2026, 1, 1, tzinfo=UTC), "X", "d", {"blob": "x" * 1000})
    assert [len(json.loads(p.events)) for p in chunks([big, *EVENTS[1:3]], 400)] == [1, 2]


def test_timestamps_and_details_as_to_json_writes_them() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    events = [
        HistoryEvent(1, 0, at, "ExecutionStarted", "executionStartedEventDetails", {"input": {"a": "é"}}),
        HistoryEvent(2, 1, at.replace(microsecond=0), "PassStateEntered", "stateEnteredEventDetails", None),
        HistoryEvent(3, 2, at.astimezone(timezone(timedelta(hours=-5))), "ParallelStateStarted"),
    ]
    assert json.loads(chunks(events, 10_000)[0].events) == [e.to_json() for e in events]


def test_values_orjson_refuses_fall_back_to_json() -> None:
    huge = HistoryEvent(1, 0, datetime(2026, 1, 1, tzinfo=UTC), "X", "d", {"n": 2**70, "f": 0.1})
    for part in (chunks([huge], 10_000), chunks([huge, *EVENTS[1:]], 150)):
        assert json.loads(part[0].events)[0]["d"] == {"n": 2**70, "f": 0.1}


def test_no_events_no_chunks() -> None:
    assert chunks([], 100) == []
