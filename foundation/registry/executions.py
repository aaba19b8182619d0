"""Executions and the history of finished ones.

The API inserts an execution as RUNNING before starting its workflow; the workflow reports its
outcome and history at the end. Both writes are idempotent, so a retried activity or a replayed
workflow never duplicates anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    TextClause,
    cast,
    func,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSON, insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, NotFound
from foundation.registry.storable import storable

RUNNING = "RUNNING"
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
STATUSES = TERMINAL_STATUSES | {RUNNING}


class Execution(SQLModel, table=True):
    """One execution of a state machine version; ``id`` is also its Temporal workflow id."""

    __tablename__ = "execution"
    __table_args__ = (
        Index("ix_execution_state_machine_start", "state_machine_name", "start_date"),
        Index("ix_execution_status_start", "status", "start_date"),
        Index("ix_execution_start", "start_date"),
    )

    id: str = Field(primary_key=True, max_length=200)
    """``<state machine>:<execution name>`` (neither name may contain a colon)."""
    name: str = Field(max_length=80)
    state_machine_name: str = Field(max_length=80)
    state_machine_version: int
    status: str = Field(max_length=16)
    input: str = Field(sa_column=Column(Text, nullable=False))
    """The input as JSON text."""
    output: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    cause: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    start_date: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    stop_date: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    published_version: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    """The published version it was started as (a qualified ARN ``...:NAME:N``); None when it was
    started as the machine's latest version."""
    alias_name: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The alias it was started through (``...:NAME:ALIAS``; ``published_version`` says which
    version the alias chose)."""
    redrive_count: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    """How many times it was redriven (RedriveExecution)."""
    redrive_date: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    """When it was last redriven."""


class ExecutionHistoryChunk(SQLModel, table=True):
    """Consecutive Step Functions history events of a finished execution, as one JSON array.

    A finished history is written once, by the workflow, in chunks of about half a megabyte: one row
    per chunk keeps that write to one statement of a few milliseconds whatever the event count.
    """

    __tablename__ = "execution_history_chunk"

    execution_id: str = Field(
        sa_column=Column(
            Text, ForeignKey("execution.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    first_event_id: int = Field(
        sa_column=Column(Integer, primary_key=True, nullable=False, autoincrement=False)
    )
    last_event_id: int = Field(sa_column=Column(Integer, nullable=False))
    events: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    """Kept as JSON text (not JSONB), so keys stay in Step Functions' order."""


class ExecutionNotFound(NotFound):
    """No execution with that id."""

    def __init__(self, execution_id: str) -> None:
        self.execution_id = execution_id
        why = ""
        if ":express:" in execution_id:
            why = " (Express executions are not kept: GET /v1/execution-logs?executionArn= has their events)"
        super().__init__(f"execution {execution_id!r} does not exist{why}")


class ExecutionNotRedrivable(Conflict):
    """RedriveExecution refused; ``reason`` in Step Functions' words (``redriveStatusReason``)."""

    def __init__(self, execution_id: str, reason: str) -> None:
        self.execution_id = execution_id
        self.reason = reason
        super().__init__(f"execution {execution_id!r} cannot be redriven: {reason}")


def execution_id(state_machine: str, name: str) -> str:
    """The execution's id (and workflow id)."""
    return f"{state_machine}:{name}"


async def insert_execution(session: AsyncSession, execution: Execution) -> Execution | None:
    """Insert a RUNNING execution; None when one with that id exists already."""
    values = execution.model_dump()
    result = await session.exec(
        insert(Execution)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(col(Execution.id))
    )
    if result.first() is None:
        return None
    return execution


@dataclass(frozen=True)
class Registered:
    """What starting an execution of a machine's version needs to know."""

    machine_type: str
    version: int
    definition: str
    inserted: bool
    """False: an execution with that id existed already (nothing was written)."""
    role_arn: str | None = None
    """The version's role (None: the default role)."""


def _register(target: str, standard_only: bool = False) -> TextClause:
    """``standard_only``: an EXPRESS machine's version is read but no execution is inserted."""
    only = " WHERE target.type <> 'EXPRESS'" if standard_only else ""
    return text(
        "WITH target AS ("
        " SELECT m.type, v.version, v.definition, v.role_arn FROM state_machine AS m"
        f" JOIN state_machine_version AS v ON v.state_machine_name = m.name AND {target}"
        " WHERE m.name = :machine"
        "), inserted AS ("
        " INSERT INTO execution (id, name, state_machine_name, state_machine_version, status, input,"
        " start_date, published_version, alias_name)"
        " SELECT :id, :name, :machine, target.version, 'RUNNING', :input, :start_date,"
        f" CAST(:published AS int), CAST(:alias AS text) FROM target{only}"
        " ON CONFLICT (id) DO NOTHING RETURNING id"
        ") SELECT target.type, target.version, target.definition, EXISTS (SELECT 1 FROM inserted),"
        " target.role_arn FROM target"
    )


_REGISTER_LATEST = _register("v.version = m.latest_version")
_REGISTER_PUBLISHED = _register("v.published_version = :published")
_REGISTER_LATEST_STANDARD = _register("v.version = m.latest_version", standard_only=True)
_REGISTER_PUBLISHED_STANDARD = _register("v.published_version = :published", standard_only=True)


async def register_latest(
    session: AsyncSession,
    machine: str,
    name: str,
    input_text: str,
    start_date: datetime,
    published: int | None = None,
    alias: str | None = None,
    *,
    standard_only: bool = False,
) -> Registered | None:
    """Insert a RUNNING execution of ``machine``'s latest version (or of its published version
    ``published``, chosen through ``alias`` when given) and read that version, in one statement (one
    round trip for every execution started). None when there is no such machine or version.
    ``standard_only``: nothing is inserted for an EXPRESS machine (``inserted`` False)."""
    if standard_only:
        chosen = _REGISTER_LATEST_STANDARD if published is None else _REGISTER_PUBLISHED_STANDARD
    else:
        chosen = _REGISTER_LATEST if published is None else _REGISTER_PUBLISHED
    statement = chosen.bindparams(
        id=execution_id(machine, name),
        name=name,
        machine=machine,
        input=input_text,
        start_date=start_date,
        published=published,
        alias=alias,
    )
    found = (await session.exec(statement)).first()  # type: ignore[call-overload]
    if found is None:
        return None
    machine_type, version, definition, inserted, role_arn = found
    return Registered(str(machine_type), int(version), str(definition), bool(inserted), role_arn)


async def get_execution(session: AsyncSession, execution_id: str) -> Execution:
    """The execution, or ``ExecutionNotFound``."""
    found = await session.get(Execution, execution_id)
    if found is None:
        raise ExecutionNotFound(execution_id)
    return found


async def list_executions(
    session: AsyncSession,
    limit: int,
    state_machine: str | None = None,
    status: str | None = None,
    before: tuple[datetime, str] | None = None,
    published: int | None = None,
    started: tuple[datetime | None, datetime | None] = (None, None),
    alias: str | None = None,
    redriven: bool | None = None,
) -> list[Execution]:
    """Newest first; ``before`` is the (start_date, id) of the last row of the previous page;
    ``published``: only those started as that published version of ``state_machine``; ``alias``:
    only those started through that alias of it; ``redriven``: only those redriven (or not);
    ``started``: only those started at or after its first time and before its second."""
    query = select(Execution)
    started_after, started_before = started
    if started_after is not None:
        query = query.where(col(Execution.start_date) >= started_after)
    if started_before is not None:
        query = query.where(col(Execution.start_date) < started_before)
    if state_machine is not None:
        query = query.where(Execution.state_machine_name == state_machine)
    if published is not None:
        query = query.where(Execution.published_version == published)
    if alias is not None:
        query = query.where(Execution.alias_name == alias)
    if redriven is not None:
        query = query.where((col(Execution.redrive_count) > 0) == redriven)
    if status is not None:
        query = query.where(Execution.status == status)
    if before is not None:
        start, last_id = before
        query = query.where(
            (col(Execution.start_date) < start)
            | ((col(Execution.start_date) == start) & (col(Execution.id) < last_id))
        )
    query = query.order_by(col(Execution.start_date).desc(), col(Execution.id).desc()).limit(limit)
    return list((await session.exec(query)).all())


async def count_by_status(
    session: AsyncSession, state_machine: str | None = None
) -> dict[str, dict[str, int]]:
    """Executions per machine and status: ``{machine: {status: count}}`` (statuses with none left out)."""
    query = select(Execution.state_machine_name, Execution.status, func.count()).group_by(
        col(Execution.state_machine_name), col(Execution.status)
    )
    if state_machine is not None:
        query = query.where(Execution.state_machine_name == state_machine)
    counts: dict[str, dict[str, int]] = {}
    for machine, status, count in (await session.exec(query)).all():
        counts.setdefault(machine, {})[status] = int(count)
    return counts


_STORE_CHUNK = (
    "INSERT INTO execution_history_chunk (execution_id, first_event_id, last_event_id, events)"
    " SELECT :execution_id, c.first, c.last, c.events FROM ("
    "  SELECT e.events, COALESCE(CAST(:first AS int), (e.events -> 0 ->> 'id')::int) AS first,"
    "   COALESCE(CAST(:last AS int), (e.events -> -1 ->> 'id')::int) AS last"
    "  FROM (SELECT CAST(:events AS json) AS events) AS e"
    " ) AS c WHERE c.first IS NOT NULL"
    " ON CONFLICT (execution_id, first_event_id) DO NOTHING"
)
"""One chunk of events (a JSON array in id order) as one row; an empty array stores nothing. The
first and last ids are read from the array only when the caller does not give them (each read
parses the whole text again)."""


async def add_history_events(
    session: AsyncSession,
    execution_id: str,
    events_json: str,
    first_event_id: int | None = None,
    last_event_id: int | None = None,
) -> None:
    """Store events given as a JSON array (text) in id order; a chunk already stored is left alone.

    The text goes to PostgreSQL as it is: no Python-side parsing, so the worker's event loop stays
    free for Temporal.
    """
    statement = text(_STORE_CHUNK).bindparams(
        execution_id=execution_id, events=events_json, first=first_event_id, last=last_event_id
    )
    await session.exec(statement)  # type: ignore[call-overload]  # sqlmodel types only select/DML


async def finish_execution(
    session: AsyncSession,
    execution_id: str,
    status: str,
    output: str | None,
    error: str | None,
    cause: str | None,
    stop_date: datetime,
) -> bool:
    """Record the outcome once: a finished execution is never changed again. True if this call did it.
    The error and cause are the workflow's text: a NUL or lone surrogate in them is stored as U+FFFD."""
    result = await session.exec(
        update(Execution)
        .where(col(Execution.id) == execution_id, col(Execution.status) == RUNNING)
        .values(
            status=status, output=output, error=storable(error), cause=storable(cause), stop_date=stop_date
        )
        .returning(col(Execution.id))
    )
    return result.first() is not None


async def start_redrive(
    session: AsyncSession, execution_id: str, ended_as: str, now: datetime
) -> Execution | None:
    """Make an execution that ended as ``ended_as`` RUNNING again as its next redrive (its outcome
    cleared, ``redrive_count`` one more); None when it is no longer in that status (another
    redrive came first)."""
    result = await session.exec(
        update(Execution)
        .where(col(Execution.id) == execution_id, col(Execution.status) == ended_as)
        .values(
            status=RUNNING,
            output=None,
            error=None,
            cause=None,
            stop_date=None,
            redrive_count=col(Execution.redrive_count) + 1,
            redrive_date=now,
        )
        .returning(col(Execution.id))
    )
    if result.first() is None:
        return None
    found = await session.get(Execution, execution_id, populate_existing=True)
    return found


async def undo_redrive(session: AsyncSession, row: Execution) -> None:
    """Put back the outcome of ``row`` (as read before ``start_redrive``): its workflow did not start."""
    await session.exec(
        update(Execution)
        .where(col(Execution.id) == row.id, col(Execution.status) == RUNNING)
        .values(
            status=row.status,
            output=row.output,
            error=row.error,
            cause=row.cause,
            stop_date=row.stop_date,
            redrive_count=row.redrive_count,
            redrive_date=row.redrive_date,
        )
    )


_FINISH_WITH_HISTORY = text(
    f"WITH stored AS ({_STORE_CHUNK}), finished AS ("
    " UPDATE execution SET status = :status, output = :output, error = :error, cause = :cause,"
    " stop_date = :stop_date WHERE id = :execution_id AND status = 'RUNNING' RETURNING id"
    ") SELECT EXISTS (SELECT 1 FROM finished), EXISTS (SELECT 1 FROM execution WHERE id = :execution_id)"
)


async def finish_with_history(
    session: AsyncSession,
    execution_id: str,
    events_json: str,
    status: str,
    output: str | None,
    error: str | None,
    cause: str | None,
    stop_date: datetime,
    first_event_id: int | None = None,
    last_event_id: int | None = None,
) -> bool:
    """``add_history_events`` and ``finish_execution`` in one statement (one round trip, atomic):
    it runs once for every execution. True if this call recorded the outcome.

    Raises:
        ExecutionNotFound: no execution with that id (yet).
    """
    statement = _FINISH_WITH_HISTORY.bindparams(
        execution_id=execution_id,
        events=events_json,
        first=first_event_id,
        last=last_event_id,
        status=status,
        output=output,
        error=storable(error),
        cause=storable(cause),
        stop_date=stop_date,
    )
    finished, known = (await session.exec(statement)).one()  # type: ignore[call-overload]
    if not known:
        raise ExecutionNotFound(execution_id)
    return bool(finished)


async def history_page(
    session: AsyncSession, execution_id: str, limit: int, after_id: int | None, reverse: bool
) -> list[dict[str, Any]]:
    """Up to ``limit`` stored events after event ``after_id`` (before it when ``reverse``).

    Reads the chunks that hold them, a few at a time, in order; usually one chunk fills a page.
    """
    chunk = ExecutionHistoryChunk
    events: list[dict[str, Any]] = []
    bound = after_id
    while len(events) < limit:
        query = select(cast(chunk.events, Text), chunk.first_event_id, chunk.last_event_id).where(
            chunk.execution_id == execution_id
        )
        if reverse:
            if bound is not None:
                query = query.where(col(chunk.first_event_id) < bound)
            query = query.order_by(col(chunk.first_event_id).desc())
        else:
            if bound is not None:
                query = query.where(col(chunk.last_event_id) > bound)
            query = query.order_by(col(chunk.first_event_id))
        rows = (await session.exec(query.limit(4))).all()
        for text_, first, last in rows:
            stored = _events_of(text_)
            if reverse:
                events.extend(e for e in reversed(stored) if after_id is None or e["id"] < after_id)
            else:
                events.extend(e for e in stored if after_id is None or e["id"] > after_id)
            bound = first if reverse else last
        if len(rows) < 4:
            break
    return events[:limit]


_BEYOND_64_BITS = re.compile(r"\d{19,}")


def _events_of(stored: str) -> list[dict[str, Any]]:
    """A chunk's JSON text as events: orjson (several times faster than the driver's ``json``), or
    ``json`` where digits run long enough to be an integer orjson would round to a float."""
    if _BEYOND_64_BITS.search(stored):
        events: list[dict[str, Any]] = json.loads(stored)
        return events
    parsed: list[dict[str, Any]] = orjson.loads(stored)
    return parsed
