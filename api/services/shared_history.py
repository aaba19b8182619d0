"""One history reader per running execution per API process, shared by its live streams.

Every stream of an execution wakes on the same notice and asks its workflow for the events after its
cursor; viewers that have caught up all stand at the same cursor. ``SharedHistory.page`` makes those
asks one workflow query: a stream joins the query for its cursor that is in flight, if that query
started after the stream woke (an older one may have missed the event the notice announced), or
takes the page a query for its cursor has just answered (a page is a prefix of what follows the
cursor whenever it was read, so a non-empty one stays true). N viewers of one execution: one query
per update, not N.

Bounded: one query in flight per (execution, cursor), the last ``KEPT_PAGES`` non-empty pages kept.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import partial

from api.services.executions import query_history
from api.state import AppState
from workers.contracts import HistoryPage, HistoryQuery

KEPT_PAGES = 4
"""Answered pages kept for streams that wake a moment later (a page of 100 events each)."""

_Key = tuple[int, str, int]


@dataclass
class _Flight:
    started: float
    answer: asyncio.Task[HistoryPage | None]


@dataclass
class SharedHistory:
    """The workflow history queries of one process's streams (see the module docstring)."""

    page_events: int
    flights: dict[_Key, _Flight] = field(default_factory=dict)
    pages: OrderedDict[_Key, HistoryPage] = field(default_factory=OrderedDict)
    queries: int = 0
    """Workflow queries made (what sharing saves is visible here)."""

    async def page(self, state: AppState, execution_id: str, after: int, woke: float) -> HistoryPage | None:
        """Up to ``page_events`` events after ``after``, read no earlier than ``woke`` (loop time);
        None when the execution has no workflow."""
        key = (id(state), execution_id, after)
        if (kept := self.pages.get(key)) is not None:
            return kept
        flight = self.flights.get(key)
        if flight is None or flight.started < woke:
            loop = asyncio.get_running_loop()
            query = HistoryQuery(after, self.page_events, False)
            flight = _Flight(loop.time(), loop.create_task(query_history(state, execution_id, query)))
            self.flights[key] = flight
            self.queries += 1
            flight.answer.add_done_callback(partial(self._landed, key, flight))
        return await asyncio.shield(flight.answer)  # a stream that leaves does not cancel the others'

    def _landed(self, key: _Key, flight: _Flight, _done: object) -> None:
        if self.flights.get(key) is flight:
            del self.flights[key]
        if flight.answer.cancelled() or flight.answer.exception() is not None:
            return  # the streams awaiting it got the exception
        page = flight.answer.result()
        if page is not None and page.events:
            self.pages[key] = page
            self.pages.move_to_end(key)
            while len(self.pages) > KEPT_PAGES:
                self.pages.popitem(last=False)
