"""Execution log events survive the death of the process that journaled them: the next book on the
same journal directory writes them first; a batch written twice is stored once."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from foundation.registry import execution_logs as registry
from foundation.registry.database import create_engine, session_maker, unit_of_work
from foundation.registry.execution_logs import LoggingConfig
from statemachine import HistoryEvent, express_execution_arn
from workers.execution_logs import ExecutionLogBook, rows_of

pytestmark = pytest.mark.integration


def events() -> list[HistoryEvent]:
    now = datetime.now(UTC)
    return [
        HistoryEvent(
            1, 0, now, "ExecutionStarted", "executionStartedEventDetails", {"input": {}, "roleArn": "r"}
        ),
        HistoryEvent(2, 1, now, "FailStateEntered", "stateEnteredEventDetails", {"name": "F", "input": {}}),
        HistoryEvent(
            3, 2, now, "ExecutionFailed", "executionFailedEventDetails", {"error": "E", "cause": "c"}
        ),
    ]


def on_disk(directory: Path) -> tuple[str, list[int]]:
    """The journal's text and the modes of its files."""
    text = "".join(p.read_text() for p in directory.glob("*.log"))
    return text, [p.stat().st_mode for p in directory.iterdir()]


async def test_a_dead_processs_journal_is_written_by_the_next(database_url: str, tmp_path: Path) -> None:
    engine = create_engine(database_url, pool_size=2)
    sessions = session_maker(engine)
    arn = express_execution_arn("journaled", "n", os.urandom(4).hex())
    rows = rows_of(events(), LoggingConfig("ERROR", False, "journal-group"), arn, "journaled", attempt=1)
    assert [r.type for r in rows] == ["FailStateEntered", "ExecutionFailed"]
    try:
        dead = ExecutionLogBook(sessions, tmp_path, interval=3600)
        dead.add(rows)  # journaled, never flushed:
        assert dead._task is not None
        dead._task.cancel()
        assert dead._journal is not None
        os.close(dead._journal._lock_fd)  # the process "dies": its lock is released, its segments stay
        async with unit_of_work(sessions) as session:
            assert await registry.events_page(session, 10, None, execution_arn=arn) == []
        journaled, modes = on_disk(tmp_path)
        assert "ExecutionFailed" in journaled and '"input"' not in journaled  # filtered before the disk
        assert all(mode & 0o077 == 0 for mode in modes)  # the owner's only
        successor = ExecutionLogBook(sessions, tmp_path)
        await successor.flush()
        successor.add(rows)  # the same events again (a replayed batch): stored once
        await successor.flush()
        async with unit_of_work(sessions) as session:
            stored = await registry.events_page(session, 10, None, execution_arn=arn)
        assert [(r.event_id, r.type, r.attempt, r.log_group) for r in stored] == [
            (2, "FailStateEntered", 1, "journal-group"),
            (3, "ExecutionFailed", 1, "journal-group"),
        ]
        assert '"input"' not in stored[0].message  # includeExecutionData false
    finally:
        await engine.dispose()
