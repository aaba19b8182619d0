"""Activities (Step Functions' external workers), their queued tasks, and which execution started which.

* ``activity``: a name external workers poll with GetActivityTask.
* ``activity_task``: a Task state's input and token waiting for a worker. The workflow inserts it
  (and notifies ``notices.ACTIVITY_TASK_CHANNEL`` with the activity's name in the same transaction);
  a poller claims the oldest one of a RUNNING execution by deleting it (``FOR UPDATE SKIP LOCKED``,
  so two pollers never get the same task). A task no worker took is withdrawn when its wait ends.
* ``execution_parent``: a child execution started by a Task state, and its parent execution.

Repositories take a session and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, String, Text, delete, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, NotFound
from foundation.registry import notices


class Activity(SQLModel, table=True):
    """One activity."""

    __tablename__ = "activity"

    name: str = Field(sa_column=Column(String(80), primary_key=True, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ActivityTask(SQLModel, table=True):
    """One task waiting for a worker of its activity."""

    __tablename__ = "activity_task"
    __table_args__ = (Index("ix_activity_task_activity_id", "activity_name", "id"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True, nullable=False)
    )
    activity_name: str = Field(sa_column=Column(String(80), nullable=False))
    execution_id: str = Field(sa_column=Column(Text, nullable=False))
    token: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    input: str = Field(sa_column=Column(Text, nullable=False))
    """JSON text."""
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ExecutionParent(SQLModel, table=True):
    """A child execution and the execution whose Task state started it."""

    __tablename__ = "execution_parent"

    execution_id: str = Field(sa_column=Column(Text, primary_key=True, nullable=False))
    parent_execution_id: str = Field(sa_column=Column(Text, nullable=False, index=True))
    state_name: str = Field(sa_column=Column(Text, nullable=False))


class ActivityExists(Conflict):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"activity {name!r} exists")


class ActivityNotFound(NotFound):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"activity {name!r} does not exist")


@dataclass(frozen=True)
class ClaimedTask:
    token: str
    input: str
    execution_id: str


async def create_activity(session: AsyncSession, name: str, now: datetime) -> Activity:
    """Create it; an existing activity of that name is returned as it is (CreateActivity is idempotent)."""
    await session.exec(
        insert(Activity).values(name=name, created_at=now).on_conflict_do_nothing(index_elements=["name"])
    )
    return await get_activity(session, name)


async def get_activity(session: AsyncSession, name: str) -> Activity:
    found = (await session.exec(select(Activity).where(col(Activity.name) == name))).first()
    if found is None:
        raise ActivityNotFound(name)
    return found


async def list_activities(session: AsyncSession, limit: int, after: str | None) -> list[Activity]:
    """Activities by name, ``limit`` of them after ``after``."""
    query = select(Activity).order_by(col(Activity.name)).limit(limit)
    if after is not None:
        query = query.where(col(Activity.name) > after)
    return list((await session.exec(query)).all())


async def delete_activity(session: AsyncSession, name: str) -> None:
    """Delete it and its queued tasks (absent: nothing happens, as in AWS)."""
    await session.exec(delete(ActivityTask).where(col(ActivityTask.activity_name) == name))
    await session.exec(delete(Activity).where(col(Activity.name) == name))


async def enqueue_task(
    session: AsyncSession, activity: str, execution_id: str, token: str, input_text: str, now: datetime
) -> None:
    """Queue a task for the activity's workers and wake its pollers (idempotent by token)."""
    await get_activity(session, activity)
    await session.exec(
        insert(ActivityTask)
        .values(
            activity_name=activity, execution_id=execution_id, token=token, input=input_text, created_at=now
        )
        .on_conflict_do_nothing(index_elements=["token"])
    )
    await notices.notify(session, notices.ACTIVITY_TASK_CHANNEL, [activity])


async def withdraw_task(session: AsyncSession, token: str) -> None:
    """Remove a task no worker took (its wait ended)."""
    await session.exec(delete(ActivityTask).where(col(ActivityTask.token) == token))


_CLAIM = text(
    "DELETE FROM activity_task WHERE id = ("
    " SELECT t.id FROM activity_task AS t JOIN execution AS e ON e.id = t.execution_id"
    " WHERE t.activity_name = :name AND e.status = 'RUNNING'"
    " ORDER BY t.id LIMIT 1 FOR UPDATE OF t SKIP LOCKED"
    ") RETURNING token, input, execution_id"
)


_FORGET_ENDED = text(
    "DELETE FROM activity_task AS t USING execution AS e"
    " WHERE t.activity_name = :name AND e.id = t.execution_id AND e.status <> 'RUNNING'"
)


async def claim_task(session: AsyncSession, activity: str) -> ClaimedTask | None:
    """Take the oldest task of a running execution for this activity, or None (then the tasks of
    executions that ended, e.g. were stopped, while their task waited are removed)."""
    row = (await session.exec(_CLAIM.bindparams(name=activity))).first()  # type: ignore[call-overload]
    if row is None:
        await session.exec(_FORGET_ENDED.bindparams(name=activity))  # type: ignore[call-overload]
        return None
    return ClaimedTask(row[0], row[1], row[2])


async def link_parent(
    session: AsyncSession, execution_id: str, parent_execution_id: str, state_name: str
) -> None:
    await session.exec(
        insert(ExecutionParent)
        .values(execution_id=execution_id, parent_execution_id=parent_execution_id, state_name=state_name)
        .on_conflict_do_nothing(index_elements=["execution_id"])
    )


async def parent_of(session: AsyncSession, execution_id: str) -> str | None:
    """The execution that started this one, if a Task state did."""
    query = select(ExecutionParent.parent_execution_id).where(
        col(ExecutionParent.execution_id) == execution_id
    )
    return (await session.exec(query)).first()
