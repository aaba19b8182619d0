"""The log journal's files: what a process wrote reads back, a record cut by a crash is skipped, a
journal is an orphan only once its owner is gone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from workers.functions.logjournal import LogJournal, read_segment


def test_records_read_back_and_a_cut_record_is_skipped(tmp_path: Path) -> None:
    journal = LogJournal(tmp_path)
    started = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    journal.write("fn", "r1", started, ["START r1", "@ not a head", "two\nlines", "", "REPORT r1"])
    journal.write("fn", "r2", None, [])
    journal.write("fn", "r3", None, ["START r3", "caf\u00e9"])
    (segment,) = journal.seal()
    rows = read_segment(segment)
    assert [(f, r, m) for f, r, _, m in rows] == [
        ("fn", "r1", "START r1"), ("fn", "r1", "@ not a head"), ("fn", "r1", "two lines"), ("fn", "r1", ""),
        ("fn", "r1", "REPORT r1"), ("fn", "r3", "START r3"), ("fn", "r3", "caf\u00e9"),
    ]  # fmt: skip
    assert rows[0][2] == started and rows[1][2] > started  # START at the start, the others at the end
    whole = segment.read_bytes()
    segment.write_bytes(whole[:-3])  # the last write, cut by a crash
    assert [m for _, r, _, m in read_segment(segment) if r == "r3"] == []
    assert len(read_segment(segment)) == 5
    journal.retire([segment])
    journal.close()
    assert list(tmp_path.iterdir()) == []


def test_only_a_dead_owners_journal_is_an_orphan(tmp_path: Path) -> None:
    living = LogJournal(tmp_path)
    living.write("fn", "r1", None, ["x"])
    other = LogJournal(tmp_path)
    assert other.orphans() == []  # the owner holds its lock
    living.close()  # (not retired: left for a replay)
    (orphan,) = other.orphans()
    assert [row[3] for row in orphan.rows] == ["x"]
    orphan.done()
    assert other.orphans() == []
    other.close()
    assert list(tmp_path.iterdir()) == []
