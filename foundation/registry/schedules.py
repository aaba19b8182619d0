"""Schedule groups, the index of schedules, and the tally of pruned schedule deliveries.

A schedule fires as a Temporal Schedule (``api.services.schedules``); its ``schedule`` row holds its
definition as given, so that listing is immediate (Temporal's schedule listing is eventually
consistent), an update is one row, and a group knows its schedules. ``default`` always exists and is never
stored. ``schedule_tally`` keeps the delivered count of schedule deliveries the outbox retention
removed, so ``stepline_schedule_delivered_total`` never goes down.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Text, delete, func
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, NotFound
from foundation.registry.functions import utcnow

DEFAULT_GROUP = "default"


class ScheduleGroup(SQLModel, table=True):
    """A created schedule group (``default`` is implicit)."""

    __tablename__ = "schedule_group"

    name: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ScheduleEntry(SQLModel, table=True):
    """One schedule of a group (its definition is in Temporal)."""

    __tablename__ = "schedule"

    group_name: str = Field(primary_key=True, max_length=64)
    name: str = Field(primary_key=True, max_length=64)
    state: str = Field(max_length=16)
    """ENABLED or DISABLED."""
    target_arn: str = Field(sa_type=Text)
    body: str = Field(default="", sa_type=Text)
    """The definition as given (``api.schedule_schemas.ScheduleIn`` as JSON)."""
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ScheduleTally(SQLModel, table=True):
    """Delivered slots of a schedule whose outbox rows were pruned."""

    __tablename__ = "schedule_tally"

    source: str = Field(primary_key=True, max_length=256)
    """The deliveries' ``bus_name`` (``schedule`` or ``schedule/<group>``)."""
    name: str = Field(primary_key=True, max_length=64)
    delivered: int = Field(sa_column=Column(BigInteger, nullable=False))


class ScheduleGroupNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Schedule group {name} does not exist.")


class ScheduleExists(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"Schedule {name} already exists.")


async def create_group(session: AsyncSession, name: str) -> ScheduleGroup:
    if name == DEFAULT_GROUP or await session.get(ScheduleGroup, name) is not None:
        raise Conflict(f"Schedule group {name} already exists.")
    group = ScheduleGroup(name=name, created_at=utcnow())
    session.add(group)
    await session.flush()
    return group


async def get_group(session: AsyncSession, name: str) -> ScheduleGroup:
    """A group (``default`` is made up with the epoch as its creation time)."""
    if name == DEFAULT_GROUP:
        return ScheduleGroup(name=name, created_at=datetime.fromtimestamp(0).astimezone())
    group = await session.get(ScheduleGroup, name)
    if group is None:
        raise ScheduleGroupNotFound(name)
    return group


async def list_groups(session: AsyncSession, prefix: str = "") -> list[ScheduleGroup]:
    stored = (await session.exec(select(ScheduleGroup).order_by(col(ScheduleGroup.name)))).all()
    groups = [await get_group(session, DEFAULT_GROUP), *stored]
    return [g for g in groups if g.name.startswith(prefix)]


async def delete_group(session: AsyncSession, name: str) -> None:
    """Forget a group and its index entries (the caller deletes their Temporal schedules)."""
    if name == DEFAULT_GROUP:
        raise Conflict("The default schedule group cannot be deleted.")
    await get_group(session, name)
    await session.exec(delete(ScheduleEntry).where(col(ScheduleEntry.group_name) == name))
    await session.exec(delete(ScheduleGroup).where(col(ScheduleGroup.name) == name))


async def add_entry(
    session: AsyncSession, group: str, name: str, state: str, target_arn: str, body: str
) -> ScheduleEntry:
    """Index a new schedule (``ScheduleExists`` when the group has one of that name)."""
    await get_group(session, group)
    if await session.get(ScheduleEntry, (group, name)) is not None:
        raise ScheduleExists(name)
    now = utcnow()
    entry = ScheduleEntry(
        group_name=group, name=name, state=state, target_arn=target_arn, body=body, created_at=now,
        updated_at=now,
    )  # fmt: skip
    session.add(entry)
    await session.flush()
    return entry


async def update_entry(
    session: AsyncSession, group: str, name: str, state: str, target_arn: str, body: str
) -> ScheduleEntry:
    """Replace a schedule's definition (one made before the index existed gets its row now)."""
    entry = await session.get(ScheduleEntry, (group, name), with_for_update=True)
    now = utcnow()
    if entry is None:
        entry = ScheduleEntry(
            group_name=group, name=name, created_at=now, updated_at=now, state=state, target_arn=""
        )
    entry.state, entry.target_arn, entry.body, entry.updated_at = state, target_arn, body, now
    session.add(entry)
    await session.flush()
    return entry


async def get_entry(session: AsyncSession, group: str, name: str) -> ScheduleEntry | None:
    return await session.get(ScheduleEntry, (group, name))


async def remove_entry(session: AsyncSession, group: str, name: str) -> bool:
    """Forget a schedule; False when it had no row."""
    found = await session.get(ScheduleEntry, (group, name))
    if found is None:
        return False
    await session.delete(found)
    await session.flush()
    return True


async def list_entries(
    session: AsyncSession, *, group: str | None, prefix: str, state: str | None,
    after: tuple[str, str] | None, limit: int,
) -> list[ScheduleEntry]:  # fmt: skip
    """A page of schedules by (group, name), after ``after``."""
    query = select(ScheduleEntry)
    if group is not None:
        query = query.where(col(ScheduleEntry.group_name) == group)
    if prefix:
        query = query.where(func.starts_with(col(ScheduleEntry.name), prefix))
    if state is not None:
        query = query.where(col(ScheduleEntry.state) == state)
    if after is not None:
        query = query.where(
            func.row(col(ScheduleEntry.group_name), col(ScheduleEntry.name)) > func.row(*after)
        )
    query = query.order_by(col(ScheduleEntry.group_name), col(ScheduleEntry.name)).limit(limit)
    return list((await session.exec(query)).all())


async def tallies(session: AsyncSession) -> dict[tuple[str, str], int]:
    rows = (await session.exec(select(ScheduleTally))).all()
    return {(row.source, row.name): row.delivered for row in rows}
