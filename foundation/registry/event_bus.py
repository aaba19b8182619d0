"""Event buses, their rules and targets, and the outbox of events on their way to a target.

EventBridge's model: a bus (``default`` always exists, others are created), rules on a bus with an
event pattern and a state (ENABLED/DISABLED), up to five targets per rule (a function or a state
machine, with ``Input``/``InputPath``/``InputTransformer``). ``EventDelivery`` is the outbox: PutEvents
writes one row per matching target in its own transaction, the worker's deliverer takes due rows
(``FOR UPDATE SKIP LOCKED``, a lease so that a crashed deliverer's rows come due again) and records
each outcome; a rule's counters (matched, delivered, failed) and last error live on the rule.
Repositories never commit: the caller owns the transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, Index, Text, func, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Field, SQLModel, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, InvalidRequest, NotFound
from foundation.registry.functions import utcnow
from foundation.registry.storable import storable

DEFAULT_BUS = "default"
DELIVERIES_CHANNEL = "stepline_event_deliveries"
"""PostgreSQL notification channel: a delivery was queued (sent when its transaction commits)."""


class EventBus(SQLModel, table=True):
    """A custom bus (``default`` is implicit and never stored)."""

    __tablename__ = "event_bus"

    name: str = Field(primary_key=True, max_length=256)
    description: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class EventRule(SQLModel, table=True):
    """``PutRule`` on one bus, with its delivery counters."""

    __tablename__ = "event_rule"

    bus_name: str = Field(primary_key=True, max_length=256)
    name: str = Field(primary_key=True, max_length=64)
    event_pattern: str = Field(sa_type=Text)
    state: str = Field(max_length=16)
    """ENABLED or DISABLED."""
    description: str = Field(default="", sa_type=Text)
    matched: int = 0
    delivered: int = 0
    failed: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class EventTarget(SQLModel, table=True):
    """``PutTargets``: one target of a rule."""

    __tablename__ = "event_target"

    bus_name: str = Field(primary_key=True, max_length=256)
    rule_name: str = Field(primary_key=True, max_length=64)
    target_id: str = Field(primary_key=True, max_length=64)
    arn: str = Field(sa_type=Text)
    input: str | None = Field(default=None, sa_type=Text)
    input_path: str | None = Field(default=None, sa_type=Text)
    input_transformer: str | None = Field(default=None, sa_type=Text)
    """``{"InputPathsMap": {...}, "InputTemplate": "..."}`` as JSON text."""
    policy: str | None = Field(default=None, sa_type=Text)
    """RetryPolicy and DeadLetterConfig (``workers.events.retries.Policy`` JSON); None: AWS's
    defaults (185 retries within 24 hours, no dead letter)."""


class EventDelivery(SQLModel, table=True):
    """One event's input on its way to one target (the outbox)."""

    __tablename__ = "event_delivery"
    __table_args__ = (Index("ix_event_delivery_status_created_at", "status", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    """Also the name of the execution a state machine target starts: a redelivery starts nothing."""
    bus_name: str = Field(max_length=256)
    rule_name: str = Field(max_length=64)
    target_id: str = Field(max_length=64)
    arn: str = Field(sa_type=Text)
    payload: str = Field(sa_type=Text)
    status: str = Field(max_length=16, index=True)
    """PENDING, DELIVERED or FAILED."""
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=Text)
    available_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    policy: str | None = Field(default=None, sa_type=Text)
    """A schedule target's retry policy and dead-letter target as JSON text
    (``workers.events.retries.Policy``); None: the deliverer's own retries."""


class EventBusNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Event bus {name} does not exist.")


class EventRuleNotFound(NotFound):
    def __init__(self, bus: str, name: str) -> None:
        super().__init__(f"Rule {name} does not exist on EventBus {bus}.")


async def notify(session: AsyncSession) -> None:
    """Wake the deliverers when the caller's transaction commits (one notification per transaction)."""
    await session.exec(text(f"NOTIFY {DELIVERIES_CHANNEL}"))  # type: ignore[call-overload]


# Buses -----------------------------------------------------------------------------------------


async def create_bus(session: AsyncSession, name: str, description: str) -> EventBus:
    if name == DEFAULT_BUS or await session.get(EventBus, name) is not None:
        raise Conflict(f"Event bus {name} already exists.")
    bus = EventBus(name=name, description=description, created_at=utcnow())
    session.add(bus)
    await session.flush()
    return bus


async def check_bus(session: AsyncSession, name: str) -> None:
    """``name`` is ``default`` or a created bus (EventBusNotFound)."""
    if name != DEFAULT_BUS and await session.get(EventBus, name) is None:
        raise EventBusNotFound(name)


async def list_buses(session: AsyncSession) -> list[EventBus]:
    return list((await session.exec(select(EventBus).order_by(col(EventBus.name)))).all())


async def delete_bus(session: AsyncSession, name: str) -> None:
    """Delete a custom bus with its rules and targets (deleting ``default`` is refused)."""
    if name == DEFAULT_BUS:
        raise InvalidRequest("Cannot delete event bus default.")
    await session.exec(delete(EventTarget).where(col(EventTarget.bus_name) == name))
    await session.exec(delete(EventRule).where(col(EventRule.bus_name) == name))
    await session.exec(delete(EventBus).where(col(EventBus.name) == name))


# Rules and targets -----------------------------------------------------------------------------


async def put_rule(
    session: AsyncSession, bus: str, name: str, pattern: str, state: str, description: str
) -> EventRule:
    """Create or replace a rule's pattern, state and description (its counters stay)."""
    await check_bus(session, bus)
    rule = await session.get(EventRule, (bus, name), with_for_update=True)
    if rule is None:
        rule = EventRule(bus_name=bus, name=name, event_pattern=pattern, state=state, created_at=utcnow())
    rule.event_pattern, rule.state, rule.description = pattern, state, description
    session.add(rule)
    await session.flush()
    return rule


async def get_rule(session: AsyncSession, bus: str, name: str) -> EventRule:
    rule = await session.get(EventRule, (bus, name))
    if rule is None:
        raise EventRuleNotFound(bus, name)
    return rule


async def set_rule_state(session: AsyncSession, bus: str, name: str, state: str) -> None:
    rule = await get_rule(session, bus, name)
    rule.state = state
    session.add(rule)
    await session.flush()


async def list_rules(session: AsyncSession, bus: str, prefix: str = "") -> list[EventRule]:
    query = select(EventRule).where(col(EventRule.bus_name) == bus).order_by(col(EventRule.name))
    rules = (await session.exec(query)).all()
    return [rule for rule in rules if rule.name.startswith(prefix)]


async def delete_rule(session: AsyncSession, bus: str, name: str) -> None:
    """Delete a rule; one with targets is refused, as EventBridge does."""
    await get_rule(session, bus, name)
    if await list_targets(session, bus, name):
        raise InvalidRequest("Rule can't be deleted since it has targets.")
    await session.exec(delete(EventRule).where(col(EventRule.bus_name) == bus, col(EventRule.name) == name))


async def list_targets(session: AsyncSession, bus: str, rule: str) -> list[EventTarget]:
    query = (
        select(EventTarget)
        .where(col(EventTarget.bus_name) == bus, col(EventTarget.rule_name) == rule)
        .order_by(col(EventTarget.target_id))
    )
    return list((await session.exec(query)).all())


async def put_target(session: AsyncSession, target: EventTarget) -> None:
    """Create or replace one target (by its id)."""
    await session.merge(target)
    await session.flush()


async def remove_target(session: AsyncSession, bus: str, rule: str, target_id: str) -> bool:
    found = await session.get(EventTarget, (bus, rule, target_id))
    if found is None:
        return False
    await session.delete(found)
    await session.flush()
    return True


async def enabled_rules(session: AsyncSession, bus: str) -> list[EventRule]:
    query = select(EventRule).where(col(EventRule.bus_name) == bus, col(EventRule.state) == "ENABLED")
    return list((await session.exec(query)).all())


async def enabled_rules_with_targets(
    session: AsyncSession, bus: str
) -> list[tuple[EventRule, list[EventTarget]]]:
    """The bus's enabled rules, each with its targets (two queries whatever the number of rules)."""
    rules = await enabled_rules(session, bus)
    if not rules:
        return []
    query = select(EventTarget).where(
        col(EventTarget.bus_name) == bus, col(EventTarget.rule_name).in_([r.name for r in rules])
    )
    targets: dict[str, list[EventTarget]] = {}
    for target in (await session.exec(query)).all():
        targets.setdefault(target.rule_name, []).append(target)
    return [(rule, sorted(targets.get(rule.name, []), key=lambda t: t.target_id)) for rule in rules]


async def count_rules(session: AsyncSession, bus: str) -> int:
    query = select(func.count()).select_from(EventRule).where(col(EventRule.bus_name) == bus)
    return int((await session.exec(query)).one())


async def count(session: AsyncSession, bus: str, rule: str, **increments: int) -> None:
    """Add to a rule's counters (``matched=1``, ``delivered=1``, ``failed=1``)."""
    values = {name: getattr(EventRule, name) + amount for name, amount in increments.items()}
    await session.exec(
        update(EventRule).where(col(EventRule.bus_name) == bus, col(EventRule.name) == rule).values(**values)
    )


# The outbox ------------------------------------------------------------------------------------


async def add_delivery(
    session: AsyncSession, bus: str, rule: str, target: EventTarget, payload: str, policy: str | None = None
) -> EventDelivery:
    """Queue ``payload`` for ``target`` (in the PutEvents transaction), with its retry ``policy``."""
    now = utcnow()
    delivery = EventDelivery(
        id=str(uuid.uuid4()), bus_name=bus, rule_name=rule, target_id=target.target_id, arn=target.arn,
        payload=storable(payload), status="PENDING", available_at=now, created_at=now, policy=policy,
    )  # fmt: skip
    session.add(delivery)
    await session.flush()
    await notify(session)
    return delivery


async def claim_deliveries(session: AsyncSession, limit: int, lease_seconds: float) -> list[EventDelivery]:
    """Take due deliveries (PENDING, including a crashed deliverer's once their lease expired)."""
    now = utcnow()
    query = (
        select(EventDelivery)
        .where(col(EventDelivery.status) == "PENDING", col(EventDelivery.available_at) <= now)
        .order_by(col(EventDelivery.available_at))
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
) -> EventDelivery | None:
    """Record an attempt: DELIVERED, retried later (``retry_in``) or FAILED; counts it on its rule."""
    found = await session.get(EventDelivery, delivery_id, with_for_update=True)
    if found is None or found.status != "PENDING":
        return None
    found.error = storable(error)
    if retry_in is not None:
        found.available_at = utcnow() + timedelta(seconds=retry_in)
    else:
        found.status = "FAILED" if error else "DELIVERED"
        if error:
            await count(session, found.bus_name, found.rule_name, failed=1)
            await session.exec(
                update(EventRule)
                .where(col(EventRule.bus_name) == found.bus_name, col(EventRule.name) == found.rule_name)
                .values(last_error=storable(error))
            )
        else:
            await count(session, found.bus_name, found.rule_name, delivered=1)
    session.add(found)
    await session.flush()
    return found


async def get_delivery(session: AsyncSession, delivery_id: str) -> EventDelivery | None:
    return await session.get(EventDelivery, delivery_id)


async def add_delivery_once(
    session: AsyncSession, delivery_id: str, source: tuple[str, str], arn: str, payload: str,
    policy: str | None = None, target_id: str | None = None,
) -> bool:  # fmt: skip
    """Queue a delivery under a caller-made id (a schedule's slot, a dead letter); False when it was
    queued already."""
    now = utcnow()
    bus, rule = source
    statement = (
        insert(EventDelivery)
        .values(
            id=delivery_id,
            bus_name=bus,
            rule_name=rule,
            target_id=target_id or rule,
            arn=arn,
            payload=storable(payload),
            status="PENDING",
            attempts=0,
            available_at=now,
            created_at=now,
            policy=policy,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(col(EventDelivery.id))
    )
    queued = (await session.exec(statement)).first() is not None
    if queued:
        await notify(session)
    return queued


async def last_failure(session: AsyncSession, bus: str, rule: str) -> EventDelivery | None:
    """The latest failed delivery of ``rule`` (a schedule's last error), or one still being retried."""
    query = (
        select(EventDelivery)
        .where(
            col(EventDelivery.bus_name) == bus,
            col(EventDelivery.rule_name) == rule,
            col(EventDelivery.status).in_(("FAILED", "PENDING")),
            col(EventDelivery.error).is_not(None),
        )
        .order_by(col(EventDelivery.created_at).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


# Events put by Task states (``events:putEvents`` routed to Stepline's own bus) ---------------------

INBOUND = "INBOUND"
"""An ``EventDelivery`` row holding an event entry not routed yet (the deliverer routes it)."""


async def add_inbound(session: AsyncSession, bus: str, entry: str) -> str:
    """Queue one PutEvents entry (JSON text) for routing; its id becomes the event's id."""
    now = utcnow()
    row = EventDelivery(
        id=str(uuid.uuid4()), bus_name=bus, rule_name="", target_id="", arn="", payload=storable(entry),
        status=INBOUND, available_at=now, created_at=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    await notify(session)
    return row.id


async def claim_inbound(session: AsyncSession, limit: int) -> list[EventDelivery]:
    """Take entries to route (locked until the caller's transaction ends, then deleted by it)."""
    return await _take(session, INBOUND, limit)


async def _take(session: AsyncSession, status: str, limit: int) -> list[EventDelivery]:
    """The oldest ``limit`` rows in ``status`` no other claimer holds, deleted in the caller's
    transaction (so a rollback gives them back)."""
    query = (
        select(EventDelivery)
        .where(col(EventDelivery.status) == status)
        .order_by(col(EventDelivery.created_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    found = list((await session.exec(query)).all())
    for row in found:
        await session.delete(row)
    await session.flush()
    return found


# Retention and status changes queued by the database ----------------------------------------------

STARTED = "STARTED"
"""A row the ``execution_started`` trigger queued: its payload is an execution id whose RUNNING
status change the deliverer publishes."""


async def claim_started(session: AsyncSession, limit: int) -> list[str]:
    """Take queued RUNNING status changes (deleted in the caller's transaction): execution ids."""
    return [row.payload for row in await _take(session, STARTED, limit)]


_PRUNE = text(
    "WITH doomed AS ("
    " SELECT id FROM event_delivery WHERE status = 'DELIVERED' AND (created_at < :cutoff OR created_at <="
    " (SELECT created_at FROM event_delivery WHERE status = 'DELIVERED' ORDER BY created_at DESC"
    " OFFSET :keep LIMIT 1)) ORDER BY created_at LIMIT :batch FOR UPDATE SKIP LOCKED"
    "), gone AS ("
    " DELETE FROM event_delivery AS d USING doomed WHERE d.id = doomed.id"
    " RETURNING d.bus_name, d.rule_name, d.target_id"
    "), counted AS ("
    " INSERT INTO schedule_tally (source, name, delivered)"
    " SELECT bus_name, rule_name, count(*) FROM gone"
    " WHERE (bus_name = 'schedule' OR bus_name LIKE 'schedule/%') AND target_id = rule_name"
    " GROUP BY bus_name, rule_name"
    " ON CONFLICT (source, name) DO UPDATE SET delivered = schedule_tally.delivered + EXCLUDED.delivered"
    ") SELECT count(*) FROM gone"
)


async def prune_delivered(session: AsyncSession, *, max_age: timedelta, keep: int, batch: int = 1000) -> int:
    """Remove DELIVERED rows older than ``max_age`` or beyond the newest ``keep`` ones (at most
    ``batch``), folding schedules' into ``schedule_tally``; never a PENDING, FAILED or queued row.
    How many were removed."""
    statement = _PRUNE.bindparams(cutoff=utcnow() - max_age, keep=keep, batch=batch)
    return int((await session.exec(statement)).one()[0])  # type: ignore[call-overload]
