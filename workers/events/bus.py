"""Putting events on a bus: shape each entry as EventBridge does, match the bus's enabled rules, and
queue one delivery per matching target, all in the caller's transaction (so an accepted event is
delivered whatever crashes later, and a refused transaction delivers nothing).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.registry import event_bus as registry
from statemachine import DEFAULT_ACCOUNT, event_bus_arn, event_rule_arn
from workers.events.patterns import InvalidEventPatternException, Pattern, compile_pattern
from workers.events.retries import for_rule
from workers.events.transform import TargetInput, render

MAX_ENTRY_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``PutEventsRequestEntry``."""

    source: str | None
    detail_type: str | None
    detail: str | None
    resources: Sequence[str] = ()
    time: datetime | None = None
    bus: str = registry.DEFAULT_BUS


@dataclass(frozen=True, slots=True)
class EntryResult:
    """``PutEventsResultEntry``: an event id, or an error code and message."""

    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


def rule_arn(bus: str, rule: str, region: str) -> str:
    """``arn:aws:events:REGION:ACCOUNT:rule/[BUS/]NAME`` (the default bus is not named)."""
    return event_rule_arn(bus, rule, region)


def bus_arn(bus: str, region: str) -> str:
    return event_bus_arn(bus, region)


def bus_name(name_or_arn: str | None) -> str:
    """A bus given by name or ARN (None: the default bus)."""
    if not name_or_arn:
        return registry.DEFAULT_BUS
    if name_or_arn.startswith("arn:"):
        return name_or_arn.rsplit("event-bus/", 1)[-1]
    return name_or_arn


@lru_cache(maxsize=1024)
def cached_pattern(text: str) -> Pattern | None:
    """A rule's compiled pattern (None for one stored before a validation it would now fail)."""
    try:
        return compile_pattern(text)
    except InvalidEventPatternException:
        return None


def shape(entry: Entry, region: str) -> dict[str, Any] | EntryResult:
    """The event EventBridge makes of ``entry``, or the entry's error."""
    if not entry.source or not entry.detail_type or entry.detail is None:
        missing = "Source" if not entry.source else "DetailType" if not entry.detail_type else "Detail"
        return EntryResult(error_code="InvalidArgument", error_message=f"Parameter {missing} is not valid.")
    if len(entry.detail.encode()) + len(entry.source) + len(entry.detail_type) > MAX_ENTRY_BYTES:
        return EntryResult(error_code="InvalidArgument", error_message="The entry is larger than 256 KB.")
    try:
        detail = json.loads(entry.detail)
    except ValueError:
        detail = None
    if not isinstance(detail, dict):
        return EntryResult(error_code="MalformedDetail", error_message="Detail is malformed.")
    moment = (entry.time or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry.detail_type,
        "source": entry.source,
        "account": DEFAULT_ACCOUNT,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": list(entry.resources),
        "detail": detail,
    }


async def put_events(session: AsyncSession, entries: Sequence[Entry], region: str) -> list[EntryResult]:
    """Accept each entry (or say why not) and queue its deliveries, in the caller's transaction."""
    results: list[EntryResult] = []
    rules_by_bus: dict[str, list[tuple[registry.EventRule, list[registry.EventTarget]]]] = {}
    for entry in entries:
        event = shape(entry, region)
        if isinstance(event, EntryResult):
            results.append(event)
            continue
        if entry.bus not in rules_by_bus:
            try:
                await registry.check_bus(session, entry.bus)
            except registry.EventBusNotFound as exc:
                results.append(EntryResult(error_code="ResourceNotFoundException", error_message=str(exc)))
                continue
            rules_by_bus[entry.bus] = await registry.enabled_rules_with_targets(session, entry.bus)
        await route(session, entry.bus, event, rules_by_bus[entry.bus], region)
        results.append(EntryResult(event_id=event["id"]))
    return results


async def route_inbound(session: AsyncSession, region: str, limit: int = 64) -> int:
    """Route entries Task states put on Stepline's own bus (``events:putEvents``), in one
    transaction with their removal from the queue; how many were routed."""
    rows = await registry.claim_inbound(session, limit)
    for row in rows:
        entry = json.loads(row.payload)
        shaped = shape(
            Entry(
                source=entry.get("Source"),
                detail_type=entry.get("DetailType"),
                detail=entry.get("Detail"),
                resources=entry.get("Resources") or (),
            ),
            region,
        )
        if isinstance(shaped, EntryResult):
            continue
        shaped["id"] = row.id
        try:
            await registry.check_bus(session, row.bus_name)
        except registry.EventBusNotFound:
            continue
        await publish(session, shaped, region, row.bus_name)
    return len(rows)


async def route(
    session: AsyncSession, bus: str, event: dict[str, Any],
    rules: Sequence[tuple[registry.EventRule, Sequence[registry.EventTarget]]], region: str,
) -> int:  # fmt: skip
    """Queue ``event`` for every target of every matching rule; the number of rules matched."""
    matched = 0
    for rule, targets in rules:
        pattern = cached_pattern(rule.event_pattern)
        if pattern is None or not pattern.matches(event):
            continue
        matched += 1
        await registry.count(session, bus, rule.name, matched=1)
        arn = rule_arn(bus, rule.name, region)
        for target in targets:
            payload = render(target_input(target), event, rule_name=rule.name, rule_arn=arn)
            await registry.add_delivery(
                session, bus, rule.name, target, payload, for_rule(target.policy, arn)
            )
    return matched


async def publish(session: AsyncSession, event: dict[str, Any], region: str, bus: str = "default") -> int:
    """Put an event Stepline itself emits (an execution's status change, a function's outcome) on
    ``bus``; the number of rules it matched."""
    pairs = await registry.enabled_rules_with_targets(session, bus)
    return await route(session, bus, event, pairs, region) if pairs else 0


def target_input(target: registry.EventTarget) -> TargetInput:
    transformer = json.loads(target.input_transformer) if target.input_transformer else None
    return TargetInput(
        input=target.input,
        input_path=target.input_path,
        paths_map=transformer.get("InputPathsMap") if transformer else None,
        template=transformer.get("InputTemplate") if transformer else None,
    )
