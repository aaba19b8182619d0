"""The snapshot a file-system event source compares each scan with: one row per object it last
reported (``key`` percent-encoded as in its events, ``size``, ``mtime_ns``, ``inode``), written only
after the record's outcome is recorded, so a worker killed at any point reports again, on its next
scan, whatever it had not finished (at-least-once). The row with the empty key marks a snapshot that
has been started (its baseline taken). Repositories never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, Column, ForeignKey, String, Text, delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)

_CHUNK = 2000
BASELINE = ""
"""The key of the row that marks a taken baseline (no object has an empty key)."""


class EventSourceObject(SQLModel, table=True):
    __tablename__ = "event_source_object"

    mapping_uuid: str = Field(
        sa_column=Column(
            String(36), ForeignKey("event_source_mapping.uuid", ondelete="CASCADE"), primary_key=True
        )
    )
    key: str = Field(sa_column=Column(Text, primary_key=True))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    mtime_ns: int = Field(sa_column=Column(BigInteger, nullable=False))
    inode: int = Field(sa_column=Column(BigInteger, nullable=False))


async def load(session: AsyncSession, mapping: str) -> dict[str, tuple[int, int, int]] | None:
    """The snapshot of ``mapping`` (key -> size, mtime_ns, inode); None when no baseline was taken."""
    rows = (
        await session.exec(select(EventSourceObject).where(col(EventSourceObject.mapping_uuid) == mapping))
    ).all()
    found = {r.key: (r.size, r.mtime_ns, r.inode) for r in rows}
    if found.pop(BASELINE, None) is None:
        return None
    return found


async def store(
    session: AsyncSession, mapping: str, present: Iterable[tuple[str, int, int, int]], removed: Iterable[str]
) -> None:
    """Record objects as reported: ``present`` (key, size, mtime_ns, inode) upserted, ``removed`` gone."""
    table = EventSourceObject.__table__  # type: ignore[attr-defined]
    rows = [
        {"mapping_uuid": mapping, "key": k, "size": s, "mtime_ns": m, "inode": i} for k, s, m, i in present
    ]
    for start in range(0, len(rows), _CHUNK):  # PostgreSQL takes at most 32767 parameters a statement
        statement = insert(table).values(rows[start : start + _CHUNK])
        await session.exec(
            statement.on_conflict_do_update(
                index_elements=["mapping_uuid", "key"],
                set_={c: statement.excluded[c] for c in ("size", "mtime_ns", "inode")},
            )
        )
    gone = list(removed)
    for start in range(0, len(gone), _CHUNK):
        chunk = gone[start : start + _CHUNK]
        await session.exec(delete(table).where(table.c.mapping_uuid == mapping, table.c.key.in_(chunk)))


async def start(session: AsyncSession, mapping: str, baseline: Iterable[tuple[str, int, int, int]]) -> None:
    """Take the baseline: the marker and the objects that are not to be reported."""
    await store(session, mapping, [(BASELINE, -1, 0, 0), *baseline], ())
