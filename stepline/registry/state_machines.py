"""State machines and their immutable, numbered versions.

An update adds a version; executions keep the version they started with, because the workflow
receives that version's definition when it starts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, ForeignKey, Text, func
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import stepline.registry.database  # noqa: F401  (naming convention before any table)


def utcnow() -> datetime:
    """Timezone-aware now (the registry stores timestamptz only)."""
    return datetime.now(UTC)


class StateMachine(SQLModel, table=True):
    """A named state machine; its definitions live in ``StateMachineVersion``."""

    __tablename__ = "state_machine"

    name: str = Field(primary_key=True, max_length=80)
    type: str = Field(max_length=16)
    """STANDARD (durable, on Temporal) or EXPRESS (may also run synchronously)."""
    latest_version: int
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class StateMachineVersion(SQLModel, table=True):
    """One immutable definition of a state machine, kept as the JSON text the user sent."""

    __tablename__ = "state_machine_version"

    state_machine_name: str = Field(
        sa_column=Column(
            Text, ForeignKey("state_machine.name", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    version: int = Field(primary_key=True)
    definition: str = Field(sa_column=Column(Text, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class StateMachineExists(Exception):
    """A state machine with that name already exists."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"state machine {name!r} already exists")


class StateMachineNotFound(Exception):
    """No such state machine (or no such version of it)."""

    def __init__(self, name: str, version: int | None = None) -> None:
        self.name = name
        self.version = version
        what = f"state machine {name!r}" + (f" version {version}" if version is not None else "")
        super().__init__(f"{what} does not exist")


async def create_state_machine(
    session: AsyncSession, name: str, type_: str, definition: str, description: str | None
) -> tuple[StateMachine, StateMachineVersion]:
    """Add a state machine at version 1."""
    if await session.get(StateMachine, name) is not None:
        raise StateMachineExists(name)
    now = utcnow()
    machine = StateMachine(name=name, type=type_, latest_version=1, created_at=now, updated_at=now)
    version = StateMachineVersion(
        state_machine_name=name, version=1, definition=definition, description=description, created_at=now
    )
    session.add(machine)
    await session.flush()
    session.add(version)
    await session.flush()
    return machine, version


async def add_version(
    session: AsyncSession, name: str, definition: str, description: str | None
) -> tuple[StateMachine, StateMachineVersion]:
    """Add the next version (the row lock serialises concurrent updates of one machine)."""
    machine = (
        await session.exec(select(StateMachine).where(StateMachine.name == name).with_for_update())
    ).first()
    if machine is None:
        raise StateMachineNotFound(name)
    now = utcnow()
    machine.latest_version += 1
    machine.updated_at = now
    version = StateMachineVersion(
        state_machine_name=name,
        version=machine.latest_version,
        definition=definition,
        description=description,
        created_at=now,
    )
    session.add(machine)
    session.add(version)
    await session.flush()
    return machine, version


async def get_state_machine(
    session: AsyncSession, name: str, version: int | None = None
) -> tuple[StateMachine, StateMachineVersion]:
    """The machine and one of its versions (the latest when ``version`` is None), in one query:
    this runs for every execution started."""
    number = col(StateMachine.latest_version) if version is None else version
    query = (
        select(StateMachine, StateMachineVersion)
        .outerjoin(
            StateMachineVersion,
            (col(StateMachineVersion.state_machine_name) == col(StateMachine.name))
            & (col(StateMachineVersion.version) == number),
        )
        .where(col(StateMachine.name) == name)
    )
    row = (await session.exec(query)).first()
    if row is None:
        raise StateMachineNotFound(name)
    machine, found = row
    if found is None:
        raise StateMachineNotFound(name, version)
    return machine, found


async def list_state_machines(
    session: AsyncSession, limit: int, after_name: str | None = None
) -> list[StateMachine]:
    """Machines by name, ``limit`` of them after ``after_name`` (keyset pagination)."""
    query = select(StateMachine).order_by(col(StateMachine.name)).limit(limit)
    if after_name is not None:
        query = query.where(col(StateMachine.name) > after_name)
    return list((await session.exec(query)).all())


async def delete_state_machine(session: AsyncSession, name: str) -> None:
    """Remove a machine and its versions; its executions (and running workflows) stay."""
    machine = await session.get(StateMachine, name)
    if machine is None:
        raise StateMachineNotFound(name)
    await session.delete(machine)
    await session.flush()


async def count_state_machines(session: AsyncSession) -> int:
    """How many machines exist (for metrics)."""
    return int((await session.exec(select(func.count()).select_from(StateMachine))).one())
