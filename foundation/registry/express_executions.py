"""Asynchronous Express executions waiting to run or running: a durable queue (``express_execution``).

StartExecution on an EXPRESS machine writes a row and notifies ``EXPRESS_CHANNEL``; a worker claims
it with a lease it renews while the execution runs, and deletes it when the execution has ended (its
log events written): nothing of it is kept after that, as Step Functions keeps no history of Express
executions. A worker that dies leaves its rows to come due again when their lease runs out, and the
next claim runs them from the start: at least once, as Step Functions runs asynchronous Express
executions. The row carries the version's definition and the logging configuration as of the start.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, Text, delete, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.registry.execution_logs import LoggingConfig
from foundation.registry.state_machines import utcnow
from foundation.registry.storable import storable

EXPRESS_CHANNEL = "stepline_express_executions"
"""Notified when an execution is queued, so that a worker claims it at once."""


class ExpressExecution(SQLModel, table=True):
    """One asynchronous Express execution until it ends."""

    __tablename__ = "express_execution"
    __table_args__ = (Index("ix_express_execution_due", "task_queue", "available_at"),)

    arn: str = Field(sa_column=Column(Text, primary_key=True, nullable=False))
    """``arn:aws:states:REGION:ACCOUNT:express:MACHINE:NAME:RUN_ID``."""
    task_queue: str = Field(sa_type=Text)
    """The Temporal task queue of the API that queued it: the workers polling it run it (as they
    run its Standard executions), so that deployments sharing a database stay apart."""
    name: str = Field(sa_type=Text)
    state_machine_name: str = Field(sa_type=Text)
    state_machine_version: int = Field(sa_column=Column(Integer, nullable=False))
    definition: str = Field(sa_type=Text)
    role_arn: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    input: str = Field(sa_type=Text)
    start_date: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    available_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    """When it may be claimed: its start, then the end of the current run's lease."""
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    log_level: str = Field(default="OFF", max_length=8)
    include_execution_data: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    log_group: str | None = Field(default=None, sa_column=Column(Text, nullable=True))

    @property
    def logging(self) -> LoggingConfig:
        return LoggingConfig(self.log_level, self.include_execution_data, self.log_group)


async def enqueue(session: AsyncSession, execution: ExpressExecution) -> None:
    """Queue it (once: an ARN queued already is left alone) and notify the workers when the
    transaction commits."""
    values = execution.model_dump()
    values["input"] = storable(execution.input)
    await session.exec(insert(ExpressExecution).values(values).on_conflict_do_nothing())
    await session.exec(text(f"NOTIFY {EXPRESS_CHANNEL}"))  # type: ignore[call-overload]


_START = text(
    "WITH added AS ("
    " INSERT INTO express_execution (arn, task_queue, name, state_machine_name, state_machine_version,"
    " definition, role_arn, input, start_date, available_at, attempts, log_level, include_execution_data,"
    " log_group)"
    " SELECT :arn, :task_queue, :name, :machine, :version, :definition, :role_arn, :input, :start_date,"
    " :start_date, 0, COALESCE(l.level, 'OFF'), COALESCE(l.include_execution_data, false), l.log_group"
    " FROM (SELECT 1) AS one LEFT JOIN state_machine_logging AS l ON l.state_machine_name = :machine"
    " ON CONFLICT (arn) DO NOTHING RETURNING arn"
    f") SELECT pg_notify('{EXPRESS_CHANNEL}', '') FROM added"
)


async def start(
    session: AsyncSession,
    arn: str,
    task_queue: str,
    name: str,
    machine: str,
    version: int,
    definition: str,
    role_arn: str | None,
    input_text: str,
    start_date: datetime,
) -> None:
    """Queue an execution with its machine's logging configuration as of now and notify the workers,
    in one statement (one round trip on an autocommit connection: StartExecution's path)."""
    params = {
        "arn": arn, "task_queue": task_queue, "name": name, "machine": machine, "version": version,
        "definition": definition, "role_arn": role_arn, "input": storable(input_text),
        "start_date": start_date,
    }  # fmt: skip
    await session.exec(_START.bindparams(**params))  # type: ignore[call-overload]


def queued(
    arn: str,
    task_queue: str,
    name: str,
    machine: str,
    version: int,
    definition: str,
    role_arn: str | None,
    input_text: str,
    start_date: datetime,
    logging: LoggingConfig,
) -> ExpressExecution:
    """A new queue row: due at once, never attempted, logging as ``logging`` says."""
    return ExpressExecution(
        arn=arn, task_queue=task_queue, name=name, state_machine_name=machine, state_machine_version=version,
        definition=definition, role_arn=role_arn, input=input_text, start_date=start_date,
        available_at=start_date, attempts=0, log_level=logging.level,
        include_execution_data=logging.include_execution_data, log_group=logging.log_group,
    )  # fmt: skip


async def claim(
    session: AsyncSession, task_queue: str, limit: int, lease_seconds: float
) -> list[ExpressExecution]:
    """Take due executions (queued, or a dead worker's whose lease ran out) and lease them."""
    now = utcnow()
    query = (
        select(ExpressExecution)
        .where(col(ExpressExecution.task_queue) == task_queue, col(ExpressExecution.available_at) <= now)
        .order_by(col(ExpressExecution.available_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    found = list((await session.exec(query)).all())
    for execution in found:
        execution.attempts += 1
        execution.available_at = now + timedelta(seconds=lease_seconds)
        session.add(execution)
    await session.flush()
    return found


async def renew(session: AsyncSession, arns: list[str], lease_seconds: float) -> None:
    """Extend the leases of executions this worker is running."""
    if arns:
        until = utcnow() + timedelta(seconds=lease_seconds)
        statement = (
            update(ExpressExecution).where(col(ExpressExecution.arn).in_(arns)).values(available_at=until)
        )
        await session.exec(statement)


async def finish(session: AsyncSession, arn: str) -> None:
    """The execution has ended: forget it."""
    await session.exec(delete(ExpressExecution).where(col(ExpressExecution.arn) == arn))
