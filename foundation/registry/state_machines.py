"""State machines and their immutable, numbered versions.

An update adds a version; executions keep the version they started with, because the workflow
receives that version's definition when it starts.

Publishing (Step Functions' versions): a version can also be *published*, which gives it a number of
its own, ``published_version`` (1, 2, 3... per machine, never reused: ``last_published_version``
counts them), the number in a qualified ARN ``...:stateMachine:NAME:N``. Every version is one
revision of the machine (``/v1`` numbers those); only published ones are versions for the AWS API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, Text, func, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, NotFound


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
    last_published_version: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    """The highest published version number handed out (numbers are never reused)."""


class StateMachineVersion(SQLModel, table=True):
    """One immutable definition of a state machine, kept as the JSON text the user sent."""

    __tablename__ = "state_machine_version"
    __table_args__ = (
        Index("ix_state_machine_version_published", "state_machine_name", "published_version", unique=True),
    )

    state_machine_name: str = Field(
        sa_column=Column(
            Text, ForeignKey("state_machine.name", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    version: int = Field(primary_key=True)
    definition: str = Field(sa_column=Column(Text, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    role_arn: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The IAM role the user named (``$$.Execution.RoleArn``); None: ``statemachine.EXECUTION_ROLE_ARN``."""
    published_version: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    """Its number as a published version; None while unpublished."""
    published_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class StateMachineExists(Conflict):
    """A state machine with that name already exists."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"state machine {name!r} already exists")


class StateMachineNotFound(NotFound):
    """No such state machine (or no such version of it)."""

    def __init__(self, name: str, version: int | None = None, *, published: int | None = None) -> None:
        self.name = name
        self.version = version
        self.published = published
        """The published version number asked for, when that is what was missing."""
        what = f"state machine {name!r}" + (f" version {version}" if version is not None else "")
        what += f" published version {published}" if published is not None else ""
        super().__init__(f"{what} does not exist")


async def create_state_machine(
    session: AsyncSession,
    name: str,
    type_: str,
    definition: str,
    description: str | None,
    *,
    role_arn: str | None = None,
    publish: bool = False,
) -> tuple[StateMachine, StateMachineVersion]:
    """Add a state machine at version 1 (published as version 1 when ``publish``)."""
    if await session.get(StateMachine, name) is not None:
        raise StateMachineExists(name)
    now = utcnow()
    machine = StateMachine(
        name=name, type=type_, latest_version=1, created_at=now, updated_at=now, last_published_version=0
    )
    version = StateMachineVersion(
        state_machine_name=name,
        version=1,
        definition=definition,
        description=description,
        created_at=now,
        role_arn=role_arn,
    )
    if publish:
        _publish(machine, version, now)
    session.add(machine)
    await session.flush()
    session.add(version)
    await session.flush()
    return machine, version


async def add_version(
    session: AsyncSession,
    name: str,
    definition: str,
    description: str | None,
    *,
    role_arn: str | None = None,
    publish: bool = False,
) -> tuple[StateMachine, StateMachineVersion]:
    """Add the next version (the row lock serialises concurrent updates of one machine), published
    under the next published number when ``publish``."""
    machine = await _locked(session, name)
    now = utcnow()
    machine.latest_version += 1
    machine.updated_at = now
    version = StateMachineVersion(
        state_machine_name=name,
        version=machine.latest_version,
        definition=definition,
        description=description,
        created_at=now,
        role_arn=role_arn,
    )
    if publish:
        _publish(machine, version, now)
    session.add(machine)
    session.add(version)
    await session.flush()
    return machine, version


class NotLatest(Conflict):
    """A version other than the latest was expected to be the latest (an update came in between)."""

    def __init__(self, expected: int, latest: int) -> None:
        self.expected = expected
        self.latest = latest
        super().__init__(f"version {expected} is not the latest version ({latest})")


async def publish_version(
    session: AsyncSession, name: str, description: str | None = None, expected: int | None = None
) -> tuple[StateMachine, StateMachineVersion]:
    """Publish the latest version (with ``description`` when given); if it is published already,
    that version unchanged (idempotent). ``NotLatest`` when ``expected`` is not the latest version."""
    machine = await _locked(session, name)
    _, version = await get_state_machine(session, name)
    if expected is not None and expected != version.version:
        raise NotLatest(expected, version.version)
    if version.published_version is None:
        _publish(machine, version, utcnow())
        if description is not None:
            version.description = description
        session.add(machine)
        session.add(version)
        await session.flush()
    return machine, version


async def unpublish_version(session: AsyncSession, name: str, published: int) -> bool:
    """Withdraw published version ``published`` (the revision itself stays: executions that ran it
    still describe it). False when there was no such published version."""
    result = await session.exec(
        update(StateMachineVersion)
        .where(
            col(StateMachineVersion.state_machine_name) == name,
            col(StateMachineVersion.published_version) == published,
        )
        .values(published_version=None, published_at=None)
        .returning(col(StateMachineVersion.version))
    )
    return result.first() is not None


async def list_published_versions(
    session: AsyncSession, name: str, limit: int, before: int | None = None
) -> list[StateMachineVersion]:
    """Published versions, newest first, ``limit`` of them below published number ``before``."""
    query = select(StateMachineVersion).where(
        col(StateMachineVersion.state_machine_name) == name,
        col(StateMachineVersion.published_version).is_not(None),
    )
    if before is not None:
        query = query.where(col(StateMachineVersion.published_version) < before)
    query = query.order_by(col(StateMachineVersion.published_version).desc()).limit(limit)
    return list((await session.exec(query)).all())


def _publish(machine: StateMachine, version: StateMachineVersion, now: datetime) -> None:
    machine.last_published_version += 1
    version.published_version = machine.last_published_version
    version.published_at = now


async def _locked(session: AsyncSession, name: str) -> StateMachine:
    """The machine's row, locked until the transaction ends, as it is once the lock is granted (not
    as an earlier read in this session left it: concurrent updates would all number the same version)."""
    query = select(StateMachine).where(StateMachine.name == name).with_for_update()
    machine = (await session.exec(query.execution_options(populate_existing=True))).first()
    if machine is None:
        raise StateMachineNotFound(name)
    return machine


async def get_state_machine(
    session: AsyncSession, name: str, version: int | None = None, *, published: int | None = None
) -> tuple[StateMachine, StateMachineVersion]:
    """The machine and one of its versions, in one query: version ``version``, or the one published
    as ``published``, or else the latest."""
    which = (
        col(StateMachineVersion.published_version) == published
        if published is not None
        else col(StateMachineVersion.version)
        == (col(StateMachine.latest_version) if version is None else version)
    )
    query = (
        select(StateMachine, StateMachineVersion)
        .outerjoin(
            StateMachineVersion,
            (col(StateMachineVersion.state_machine_name) == col(StateMachine.name)) & which,
        )
        .where(col(StateMachine.name) == name)
    )
    row = (await session.exec(query)).first()
    if row is None:
        raise StateMachineNotFound(name)
    machine, found = row
    if found is None:
        raise StateMachineNotFound(name, version, published=published)
    return machine, found


@dataclass(frozen=True, slots=True)
class Runnable:
    """What running one version takes: the machine's type and the version's number, role and text."""

    type: str
    version: int
    role_arn: str | None
    definition: str
    log_level: str | None = None
    """Its ``loggingConfiguration`` (``foundation.registry.execution_logs``; None: OFF)."""
    include_execution_data: bool = False
    log_group: str | None = None


_RUNNABLE = text(
    "SELECT m.type, v.version, v.role_arn, v.definition, l.level, l.include_execution_data, l.log_group "
    "FROM state_machine AS m "
    "LEFT JOIN state_machine_version AS v ON v.state_machine_name = m.name AND CASE "
    "WHEN CAST(:published AS integer) IS NULL THEN v.version = m.latest_version "
    "ELSE v.published_version = CAST(:published AS integer) END "
    "LEFT JOIN state_machine_logging AS l ON l.state_machine_name = m.name WHERE m.name = :name"
)


async def get_runnable(connection: AsyncConnection, name: str, published: int | None = None) -> Runnable:
    """``get_state_machine``'s latest (or published ``published``) version as plain values: the
    synchronous executions' hot path. One statement compiled once, without ORM objects; on an
    autocommit ``connection``, no BEGIN and COMMIT round trips either: 344 us a read where the ORM
    query in a unit of work took 970 us. (asyncpg's own ``fetchrow`` on the pooled connection took
    174 us, but a connection PostgreSQL dropped would then fail as a 500, not as SQLAlchemy's
    invalidated connection, which the API answers 503 and the pool recovers from.)"""
    row = (await connection.execute(_RUNNABLE, {"name": name, "published": published})).first()
    if row is None:
        raise StateMachineNotFound(name)
    if row.version is None:
        raise StateMachineNotFound(name, published=published)
    return Runnable(
        row.type, row.version, row.role_arn, row.definition, row.level, bool(row.include_execution_data),
        row.log_group,
    )  # fmt: skip


async def machine_exists(session: AsyncSession, name: str) -> bool:
    """Whether a machine named ``name`` exists (read without loading it into the session)."""
    found = await session.exec(select(StateMachine.name).where(StateMachine.name == name))
    return found.first() is not None


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
