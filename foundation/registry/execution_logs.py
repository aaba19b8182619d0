"""Execution logging: each state machine's ``loggingConfiguration`` and the log events it produced.

A machine logs to a *log group*, a name (Step Functions' destination is a CloudWatch Logs log group
ARN; Stepline keeps the group's name and stores the events itself). Events are rows of
``execution_log_event``: the JSON text of Step Functions' log event, with what it is read by (log
group, machine, execution). ``attempt`` tells apart the runs of one asynchronous Express execution
(each run after a crash logs again, as at-least-once implies); writing the same event of the same
attempt twice keeps one row, so batches can be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, Text, delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.registry.state_machines import utcnow
from foundation.registry.storable import storable


class StateMachineLogging(SQLModel, table=True):
    """A machine's ``loggingConfiguration`` (no row: ``OFF``)."""

    __tablename__ = "state_machine_logging"

    state_machine_name: str = Field(
        sa_column=Column(
            Text, ForeignKey("state_machine.name", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    level: str = Field(max_length=8)
    """ALL, ERROR, FATAL or OFF."""
    include_execution_data: bool = Field(sa_column=Column(Boolean, nullable=False))
    log_group_arn: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The destination as given (``arn:aws:logs:...:log-group:NAME:*``); None: no destination."""
    log_group: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The log group's name, read from ``log_group_arn``."""
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ExecutionLogEvent(SQLModel, table=True):
    """One logged history event (``message``: the log event's JSON text, as Step Functions writes it)."""

    __tablename__ = "execution_log_event"
    __table_args__ = (
        Index("ix_execution_log_event_once", "execution_arn", "attempt", "event_id", unique=True),
        Index("ix_execution_log_event_group", "log_group", "id"),
        Index("ix_execution_log_event_machine", "state_machine_name", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    log_group: str = Field(sa_type=Text)
    state_machine_name: str = Field(sa_type=Text)
    execution_arn: str = Field(sa_type=Text)
    attempt: int = Field(sa_column=Column(Integer, nullable=False))
    event_id: int = Field(sa_column=Column(Integer, nullable=False))
    type: str = Field(max_length=64)
    timestamp: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    message: str = Field(sa_type=Text)


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    """What an execution needs to know to log: the level, whether data goes in, and where."""

    level: str = "OFF"
    include_execution_data: bool = False
    log_group: str | None = None

    @property
    def on(self) -> bool:
        return self.level != "OFF" and self.log_group is not None


OFF = LoggingConfig()


@dataclass(frozen=True, slots=True)
class LogRow:
    """A log event to store."""

    log_group: str
    state_machine_name: str
    execution_arn: str
    attempt: int
    event_id: int
    type: str
    timestamp: datetime
    message: str


async def get_logging(session: AsyncSession, machine: str) -> StateMachineLogging | None:
    return await session.get(StateMachineLogging, machine)


async def set_logging(
    session: AsyncSession,
    machine: str,
    level: str,
    include_execution_data: bool,
    log_group_arn: str | None,
    log_group: str | None,
) -> StateMachineLogging:
    """Replace ``machine``'s configuration (the machine must exist: a foreign key)."""
    found = await session.get(StateMachineLogging, machine, with_for_update=True)
    if found is None:
        found = StateMachineLogging(
            state_machine_name=machine, level=level, include_execution_data=include_execution_data,
            log_group_arn=log_group_arn, log_group=log_group, updated_at=utcnow(),
        )  # fmt: skip
    else:
        found.level, found.include_execution_data = level, include_execution_data
        found.log_group_arn, found.log_group, found.updated_at = log_group_arn, log_group, utcnow()
    session.add(found)
    await session.flush()
    return found


async def config_of(session: AsyncSession, machine: str) -> LoggingConfig:
    found = await session.get(StateMachineLogging, machine)
    if found is None:
        return OFF
    return LoggingConfig(found.level, found.include_execution_data, found.log_group)


async def add_events(session: AsyncSession, rows: list[LogRow]) -> None:
    """Store log events (an event already stored for the same attempt is left as it is)."""
    if not rows:
        return
    values = [
        {
            "log_group": r.log_group, "state_machine_name": r.state_machine_name,
            "execution_arn": r.execution_arn, "attempt": r.attempt, "event_id": r.event_id,
            "type": r.type, "timestamp": r.timestamp, "message": storable(r.message),
        }
        for r in rows
    ]  # fmt: skip
    statement = insert(ExecutionLogEvent).values(values).on_conflict_do_nothing()
    await session.exec(statement)


async def events_page(
    session: AsyncSession,
    limit: int,
    after: int | None,
    log_group: str | None = None,
    state_machine: str | None = None,
    execution_arn: str | None = None,
    *,
    newest_first: bool = False,
) -> list[ExecutionLogEvent]:
    """Log events in the order they were stored (``newest_first``: the reverse), ``limit`` of them
    past row ``after`` in that order."""
    order = col(ExecutionLogEvent.id).desc() if newest_first else col(ExecutionLogEvent.id)
    query = select(ExecutionLogEvent).order_by(order).limit(limit)
    if after is not None:
        past = col(ExecutionLogEvent.id) < after if newest_first else col(ExecutionLogEvent.id) > after
        query = query.where(past)
    if log_group is not None:
        query = query.where(ExecutionLogEvent.log_group == log_group)
    if state_machine is not None:
        query = query.where(ExecutionLogEvent.state_machine_name == state_machine)
    if execution_arn is not None:
        query = query.where(ExecutionLogEvent.execution_arn == execution_arn)
    return list((await session.exec(query)).all())


async def delete_group(session: AsyncSession, log_group: str) -> int:
    """Forget a log group's events; how many there were."""
    statement = delete(ExecutionLogEvent).where(col(ExecutionLogEvent.log_group) == log_group)
    result = await session.exec(statement)
    return int(result.rowcount)
