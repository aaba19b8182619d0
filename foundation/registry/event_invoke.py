"""Asynchronous invocation settings of a function (or one of its versions or aliases) and the
deliveries of invocation records to their destinations.

``FunctionEventInvokeConfig`` is Lambda's: how many times a failed Event invocation is retried (0-2),
how old an event may grow before it is dropped, and where the record of an outcome goes
(``OnSuccess``/``OnFailure``). ``DestinationDelivery`` is an outbox: the record of an outcome is
written in the transaction that records the outcome, so that it is delivered once whatever crashes.
Repositories never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, ForeignKey, Text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import NotFound
from foundation.registry.functions import LATEST, utcnow
from foundation.registry.storable import storable

MAX_RETRY_ATTEMPTS = 2
MIN_EVENT_AGE_SECONDS, MAX_EVENT_AGE_SECONDS = 60, 21600
"""Lambda's bounds of ``MaximumEventAgeInSeconds`` (one minute to six hours)."""


class EventInvokeConfig(SQLModel, table=True):
    """``PutFunctionEventInvokeConfig`` of one function and qualifier (``$LATEST`` when unqualified)."""

    __tablename__ = "function_event_invoke_config"

    function_name: str = Field(
        sa_column=Column(Text, ForeignKey("function.name", ondelete="CASCADE"), primary_key=True)
    )
    qualifier: str = Field(primary_key=True, max_length=128)
    maximum_retry_attempts: int | None = None
    maximum_event_age_seconds: int | None = None
    on_success: str | None = Field(default=None, sa_type=Text)
    on_failure: str | None = Field(default=None, sa_type=Text)
    last_modified: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class DestinationDelivery(SQLModel, table=True):
    """An invocation record on its way to a state machine or a queue (a function destination is an
    Event invocation of its own, queued with the outcome instead)."""

    __tablename__ = "function_destination_delivery"

    id: str = Field(primary_key=True, max_length=36)
    """The source invocation's request id: one outcome, one delivery."""
    destination: str = Field(sa_type=Text)
    record: str = Field(sa_type=Text)
    status: str = Field(max_length=16)
    """PENDING, DELIVERED or FAILED."""
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=Text)
    available_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class EventInvokeConfigNotFound(NotFound):
    def __init__(self, function: str, qualifier: str) -> None:
        self.function, self.qualifier = function, qualifier
        super().__init__(f"function {function!r} ({qualifier}) has no event invoke configuration")


@dataclass(frozen=True, slots=True)
class EventInvokeSettings:
    """The members a Put replaces (and an Update changes when given)."""

    maximum_retry_attempts: int | None = None
    maximum_event_age_seconds: int | None = None
    on_success: str | None = None
    on_failure: str | None = None


async def get_config(
    session: AsyncSession, function: str, qualifier: str | None, *, for_update: bool = False
) -> EventInvokeConfig | None:
    query = select(EventInvokeConfig).where(
        col(EventInvokeConfig.function_name) == function,
        col(EventInvokeConfig.qualifier) == (qualifier or LATEST),
    )
    if for_update:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def put_config(
    session: AsyncSession, function: str, qualifier: str | None, settings: EventInvokeSettings
) -> EventInvokeConfig:
    """Create or replace the configuration of ``function:qualifier``."""
    row = await get_config(session, function, qualifier, for_update=True) or EventInvokeConfig(
        function_name=function, qualifier=qualifier or LATEST, last_modified=utcnow()
    )
    row.maximum_retry_attempts = settings.maximum_retry_attempts
    row.maximum_event_age_seconds = settings.maximum_event_age_seconds
    row.on_success, row.on_failure = settings.on_success, settings.on_failure
    row.last_modified = utcnow()
    session.add(row)
    await session.flush()
    return row


async def delete_config(session: AsyncSession, function: str, qualifier: str | None) -> None:
    found = await get_config(session, function, qualifier, for_update=True)
    if found is None:
        raise EventInvokeConfigNotFound(function, qualifier or LATEST)
    await session.delete(found)
    await session.flush()


async def list_configs(session: AsyncSession, function: str) -> list[EventInvokeConfig]:
    query = (
        select(EventInvokeConfig)
        .where(col(EventInvokeConfig.function_name) == function)
        .order_by(col(EventInvokeConfig.qualifier))
    )
    return list((await session.exec(query)).all())


# Deliveries ------------------------------------------------------------------------------------


async def add_delivery(session: AsyncSession, request_id: str, destination: str, record: str) -> None:
    """Queue the record of ``request_id``'s outcome (in the outcome's own transaction)."""
    session.add(
        DestinationDelivery(
            id=request_id,
            destination=destination,
            record=storable(record),
            status="PENDING",
            available_at=utcnow(),
        )
    )
    await session.flush()


async def claim_deliveries(
    session: AsyncSession, limit: int, lease_seconds: float
) -> list[DestinationDelivery]:
    """Take due deliveries (PENDING, including those whose deliverer crashed: the lease expired)."""
    now = utcnow()
    query = (
        select(DestinationDelivery)
        .where(col(DestinationDelivery.status) == "PENDING", col(DestinationDelivery.available_at) <= now)
        .order_by(col(DestinationDelivery.available_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    found = list((await session.exec(query)).all())
    for delivery in found:
        delivery.attempts += 1
        delivery.available_at = now + timedelta(seconds=lease_seconds)
        session.add(delivery)
    await session.flush()
    return found


async def finish_delivery(
    session: AsyncSession, delivery_id: str, *, error: str | None, retry_in: float | None
) -> None:
    """Record a delivery's outcome; ``retry_in`` tries again later."""
    found = await session.get(DestinationDelivery, delivery_id, with_for_update=True)
    if found is None:
        return
    found.error = storable(error)
    if retry_in is not None:
        found.available_at = utcnow() + timedelta(seconds=retry_in)
    else:
        found.status = "FAILED" if error else "DELIVERED"
    session.add(found)
    await session.flush()


async def get_delivery(session: AsyncSession, delivery_id: str) -> DestinationDelivery | None:
    return await session.get(DestinationDelivery, delivery_id)
