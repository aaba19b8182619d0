"""Event source mappings (Lambda's ``CreateEventSourceMapping``): a queue or a stream of a broker
Stepline reaches, read in batches by one worker and handed to a function.

``EventSourceMapping`` holds Lambda's settings, the state (Creating, Enabled, Disabled, Updating,
Deleting), the last processing result and error, and the lease of the worker leading it (one poller
per mapping across worker processes: ``leader`` holds it until ``lease_until``). Repositories never
commit: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Text, or_
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import NotFound
from foundation.registry.functions import utcnow
from foundation.registry.storable import storable

CREATING, ENABLED, DISABLED, UPDATING, DELETING = "Creating", "Enabled", "Disabled", "Updating", "Deleting"
ENABLING, DISABLING = "Enabling", "Disabling"


class EventSourceMapping(SQLModel, table=True):
    """One mapping: where records come from, how they are batched and retried, whom they go to."""

    __tablename__ = "event_source_mapping"

    uuid: str = Field(primary_key=True, max_length=36)
    function_name: str = Field(
        sa_column=Column(Text, ForeignKey("function.name", ondelete="CASCADE"), nullable=False, index=True)
    )
    qualifier: str | None = Field(default=None, max_length=128)
    source_arn: str = Field(sa_type=Text)
    source_kind: str = Field(max_length=16)
    """``rabbitmq``, ``redis``, ``nats``, ``fs``, ..."""
    source_name: str = Field(sa_type=Text)
    """The queue or the stream (a file system: ``NAME/PREFIX*SUFFIX`` of its ARN)."""
    broker_sealed: str | None = Field(default=None, sa_type=Text)
    """The mapping's own broker URI (an operator-allowed host), sealed; None: the operator's broker."""
    broker_summary: str | None = Field(default=None, sa_type=Text)
    """That URI without its password and query: what may be shown."""
    enabled: bool = True
    state: str = Field(max_length=16)
    state_reason: str = Field(default="USER_INITIATED", sa_type=Text)
    batch_size: int
    batching_window_seconds: int = 0
    starting_position: str | None = Field(default=None, max_length=16)
    starting_timestamp: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    parallelization_factor: int = 1
    report_item_failures: bool = False
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1
    """-1: until the record expires (or forever)."""
    maximum_record_age_seconds: int = -1
    on_failure: str | None = Field(default=None, sa_type=Text)
    filter_criteria: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    last_modified: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_result: str = Field(default="No records processed", sa_type=Text)
    last_error: str | None = Field(default=None, sa_type=Text)
    leader: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class EventSourceMappingNotFound(NotFound):
    def __init__(self, uuid: str) -> None:
        self.uuid = uuid
        super().__init__(f"event source mapping {uuid!r} does not exist")


async def get_mapping(session: AsyncSession, uuid: str, *, for_update: bool = False) -> EventSourceMapping:
    query = select(EventSourceMapping).where(col(EventSourceMapping.uuid) == uuid)
    if for_update:
        query = query.with_for_update()
    found = (await session.exec(query)).first()
    if found is None:
        raise EventSourceMappingNotFound(uuid)
    return found


async def save(session: AsyncSession, mapping: EventSourceMapping) -> EventSourceMapping:
    mapping.last_modified = utcnow()
    session.add(mapping)
    await session.flush()
    return mapping


async def delete_mapping(session: AsyncSession, uuid: str) -> None:
    await session.delete(await get_mapping(session, uuid, for_update=True))
    await session.flush()


async def list_mappings(
    session: AsyncSession, *, function: str | None = None, source_arn: str | None = None
) -> list[EventSourceMapping]:
    query = select(EventSourceMapping).order_by(col(EventSourceMapping.uuid))
    if function is not None:
        query = query.where(col(EventSourceMapping.function_name) == function)
    if source_arn is not None:
        query = query.where(col(EventSourceMapping.source_arn) == source_arn)
    return list((await session.exec(query)).all())


async def lead(
    session: AsyncSession, worker: str, lease_seconds: float, *, limit: int = 64
) -> list[EventSourceMapping]:
    """Renew this worker's leases and take free or expired ones; the mappings it now leads (enabled or
    not: a disabled mapping's poller stops)."""
    now = utcnow()
    # Its own leases first, waiting for a row another transaction holds for a moment (a poller's
    # report, an API update): skipping it would stop a poller that still leads, and the next round
    # would start it again from its last acknowledged record (duplicates, at best).
    own = (
        select(EventSourceMapping)
        .where(col(EventSourceMapping.leader) == worker)
        .order_by(col(EventSourceMapping.uuid))
        .with_for_update()
    )
    found = list((await session.exec(own)).all())
    free = (
        select(EventSourceMapping)
        .where(
            or_(col(EventSourceMapping.leader).is_(None), col(EventSourceMapping.leader) != worker),
            or_(col(EventSourceMapping.lease_until).is_(None), col(EventSourceMapping.lease_until) < now),
        )
        .order_by(col(EventSourceMapping.uuid))
        .limit(max(limit - len(found), 0))
        .with_for_update(skip_locked=True)
    )
    found += list((await session.exec(free)).all())
    for mapping in found:
        mapping.leader, mapping.lease_until = worker, now + timedelta(seconds=lease_seconds)
        if mapping.state in (CREATING, UPDATING, ENABLING):
            mapping.state = ENABLED if mapping.enabled else DISABLED
        elif mapping.state == DISABLING:
            mapping.state = DISABLED
        session.add(mapping)
    await session.flush()
    return found


async def release(session: AsyncSession, worker: str) -> None:
    """Give up every lease of ``worker`` (it is stopping): another worker takes over at once."""
    for mapping in (
        await session.exec(
            select(EventSourceMapping).where(col(EventSourceMapping.leader) == worker).with_for_update()
        )
    ).all():
        mapping.leader, mapping.lease_until = None, None
        session.add(mapping)
    await session.flush()


async def report(session: AsyncSession, uuid: str, result: str, error: str | None) -> None:
    """Record the last processing result (and error, kept until a later one replaces it)."""
    found = await session.get(EventSourceMapping, uuid, with_for_update=True)
    if found is None:
        return
    found.last_result = result
    if error is not None:
        found.last_error = storable(error)
    session.add(found)
    await session.flush()
