"""What an execution or a function would cost on AWS, in AWS's public price model: an estimate.

Prices are us-east-1's list prices (no free tier, no tiered discounts), as published on:
- Step Functions: https://aws.amazon.com/step-functions/pricing/ — Standard workflows $0.025 per
  1,000 state transitions; Express workflows $1.00 per million requests and $0.00001667 per GB-second
  (the first tier), billed per 100 ms in 64 MB steps.
- Lambda: https://aws.amazon.com/lambda/pricing/ — $0.20 per million requests and $0.0000166667 per
  GB-second on x86 (the first tier), billed per millisecond of the configured memory.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from api import console_schemas as schemas
from api.services.inspection import execution_events, history_read
from api.state import AppState
from foundation.registry import function_metrics
from foundation.registry import functions as function_registry
from foundation.registry.database import unit_of_work
from foundation.registry.state_machines import get_state_machine
from statemachine import map_iterations, state_story

STANDARD_PRICE_PER_TRANSITION = 0.000025
EXPRESS_PRICE_PER_REQUEST = 1.00 / 1_000_000
EXPRESS_PRICE_PER_GB_SECOND = 0.00001667
EXPRESS_BILLING_STEP_MS = 100
EXPRESS_MEMORY_MB = 64
"""Stepline does not measure an Express execution's memory: the smallest billed step is assumed."""
LAMBDA_PRICE_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PRICE_PER_GB_SECOND_X86 = 0.0000166667
PRICES: dict[str, Any] = {
    "region": "us-east-1",
    "asOf": "2026-12",
    "stepFunctions": {
        "source": "https://aws.amazon.com/step-functions/pricing/",
        "standardPerStateTransition": STANDARD_PRICE_PER_TRANSITION,
        "expressPerRequest": EXPRESS_PRICE_PER_REQUEST,
        "expressPerGbSecond": EXPRESS_PRICE_PER_GB_SECOND,
    },
    "lambda": {
        "source": "https://aws.amazon.com/lambda/pricing/",
        "architecture": "x86_64",
        "perRequest": LAMBDA_PRICE_PER_REQUEST,
        "perGbSecond": LAMBDA_PRICE_PER_GB_SECOND_X86,
    },
}
NO_FREE_TIER = "AWS's free tier and volume discounts are not deducted"
SCHEDULED = ("LambdaFunctionScheduled", "TaskScheduled")


def _item(name: str, description: str, quantity: float, unit: str, price: float) -> schemas.CostItem:
    return schemas.CostItem(
        name=name, description=description, quantity=quantity, unit=unit, unit_price=price,
        amount=round(quantity * price, 10),
    )  # fmt: skip


def _estimate(items: list[schemas.CostItem], notes: list[str]) -> schemas.CostEstimate:
    return schemas.CostEstimate(
        items=items,
        total=round(sum(i.amount for i in items), 10),
        prices=PRICES,
        notes=[NO_FREE_TIER, *notes],
    )


async def execution_cost(state: AppState, execution_id: str) -> schemas.CostEstimate:
    """Standard: its state transitions (each state entered, and each retry). Express: one request
    and its duration at 64 MB. Functions its Task states invoked are estimated per function."""
    async with history_read():
        return await _execution_cost(state, execution_id)


async def _execution_cost(state: AppState, execution_id: str) -> schemas.CostEstimate:
    row, events = await execution_events(state, execution_id)
    async with unit_of_work(state.sessions) as session:
        machine, _ = await get_state_machine(session, row.state_machine_name, row.state_machine_version)
    notes = ["functions invoked by Task states are billed by Lambda: see each function's estimate"]
    if machine.type == "EXPRESS":
        stop = row.stop_date or datetime.now(UTC)
        billed_ms = max(
            1, math.ceil((stop - row.start_date).total_seconds() * 1000 / EXPRESS_BILLING_STEP_MS)
        )
        gb_seconds = billed_ms * EXPRESS_BILLING_STEP_MS / 1000 * EXPRESS_MEMORY_MB / 1024
        items = [
            _item("requests", "Express workflow requests", 1, "request", EXPRESS_PRICE_PER_REQUEST),
            _item("duration", f"Express duration at {EXPRESS_MEMORY_MB} MB, per 100 ms", gb_seconds,
                  "GB-second", EXPRESS_PRICE_PER_GB_SECOND),
        ]  # fmt: skip
        return _estimate(items, notes)
    entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
    tasks = sum(1 for e in events if e["type"] == "TaskStateEntered")
    retries = max(0, sum(1 for e in events if e["type"] in SCHEDULED) - tasks)
    unrecorded = _chunked_iterations(events)
    if unrecorded:
        notes.append(
            f"{unrecorded} Map iterations ran in chunks and their states are not in the history: not "
            "counted (add the states each iteration entered)"
        )
    items = [
        _item("stateTransitions", "Standard workflow state transitions (states entered and retries)",
              entered + retries, "transition", STANDARD_PRICE_PER_TRANSITION),
    ]  # fmt: skip
    return _estimate(items, notes)


def _chunked_iterations(events: list[dict[str, Any]]) -> int:
    """How many Map iterations recorded none of their states' events."""
    maps = [e["id"] for e in events if e["type"] == "MapStateEntered"]
    return sum(
        1 for entered in maps for i in map_iterations(state_story(events, entered)) if not i.events_recorded
    )


async def function_cost(
    session: AsyncSession, name: str, start: datetime | None, end: datetime | None
) -> schemas.CostEstimate:
    """Requests and GB-seconds of the function's invocations that ended in ``[start, end)`` (default:
    the last 30 days), from their REPORT lines."""
    await function_registry.get_function(session, name)
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=30)
    buckets = await function_metrics.report_buckets(
        session, name, start, end, end - start + timedelta(seconds=1)
    )
    requests = sum(b.invocations for b in buckets)
    gb_seconds = sum(b.gb_seconds for b in buckets)
    items = [
        _item("requests", "Lambda requests", requests, "request", LAMBDA_PRICE_PER_REQUEST),
        _item("duration", "Lambda duration x memory (x86)", gb_seconds, "GB-second",
              LAMBDA_PRICE_PER_GB_SECOND_X86),
    ]  # fmt: skip
    return _estimate(items, [f"invocations that ended from {start.isoformat()} to {end.isoformat()}"])
