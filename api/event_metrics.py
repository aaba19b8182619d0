"""Prometheus metrics of rules, read from the registry when ``/metrics`` is scraped (the counters live
on the rules, so every API and worker process reports the same totals):

stepline_event_rule_matched_total{bus,rule}    events that matched the rule
stepline_event_rule_delivered_total{bus,rule}  deliveries made to its targets
stepline_event_rule_failed_total{bus,rule}     deliveries given up after their retries
stepline_schedule_delivered_total{schedule}    slots delivered to the schedule's target (``GROUP/NAME``
                                               outside the default group; pruned rows are tallied)
stepline_schedule_failed_total{schedule}       slots given up after their retries
stepline_event_deliveries_pending              deliveries waiting in the outbox
stepline_event_delivery_oldest_seconds         the age of the oldest waiting delivery (the lag)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import col, select

from foundation.registry import event_bus as registry
from foundation.registry import schedules as schedule_registry
from foundation.registry.database import SessionMaker, unit_of_work
from workers.events.schedule_activities import SCHEDULE_BUS

FINISHED = ("DELIVERED", "FAILED")


class RuleMetrics(Collector):
    """A snapshot of the rules' counters, refreshed before each scrape."""

    def __init__(self) -> None:
        self._rules: list[tuple[str, str, int, int, int]] = []
        self._pending = 0
        self._schedules: list[tuple[str, str, int]] = []
        self._oldest_seconds = 0.0

    async def refresh(self, sessions: SessionMaker) -> None:
        async with unit_of_work(sessions) as session:
            rules = (await session.exec(select(registry.EventRule))).all()
            pending = registry.EventDelivery
            count, oldest = (
                await session.exec(
                    select(func.count(), func.min(col(pending.created_at))).where(
                        col(pending.status) == "PENDING"
                    )
                )
            ).one()
            by_schedule = (
                await session.exec(
                    select(col(pending.bus_name), col(pending.rule_name), col(pending.status), func.count())
                    .where(
                        (col(pending.bus_name) == SCHEDULE_BUS)
                        | col(pending.bus_name).startswith(f"{SCHEDULE_BUS}/"),
                        col(pending.target_id) == col(pending.rule_name),
                        col(pending.status).in_(("DELIVERED", "FAILED")),
                    )
                    .group_by(col(pending.bus_name), col(pending.rule_name), col(pending.status))
                )
            ).all()
            tallies = await schedule_registry.tallies(session)
        counts: dict[tuple[str, str], int] = {
            (_label(source, name), "DELIVERED"): n for (source, name), n in tallies.items()
        }
        for source, name, status, n in by_schedule:
            key = (_label(source, name), status)
            counts[key] = counts.get(key, 0) + int(n)
        self._schedules = [(name, status, n) for (name, status), n in sorted(counts.items())]
        self._rules = [(r.bus_name, r.name, r.matched, r.delivered, r.failed) for r in rules]
        self._pending = int(count)
        self._oldest_seconds = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()

    def collect(self) -> Iterator[Metric]:
        families = [
            CounterMetricFamily(
                f"stepline_event_rule_{name}", f"Events {name} by the rule", labels=["bus", "rule"]
            )
            for name in ("matched", "delivered", "failed")
        ]
        for bus, rule, *counts in self._rules:
            for family, value in zip(families, counts, strict=True):
                family.add_metric([bus, rule], value)
        yield from families
        delivered = CounterMetricFamily("stepline_schedule_delivered", "Slots delivered", labels=["schedule"])
        failed = CounterMetricFamily("stepline_schedule_failed", "Slots failed", labels=["schedule"])
        for name, status, count in self._schedules:
            (delivered if status == "DELIVERED" else failed).add_metric([name], count)
        yield delivered
        yield failed
        yield GaugeMetricFamily(
            "stepline_event_deliveries_pending", "Deliveries waiting", value=self._pending
        )
        yield GaugeMetricFamily(
            "stepline_event_delivery_oldest_seconds",
            "Age of the oldest waiting delivery",
            value=self._oldest_seconds,
        )


def _label(source: str, name: str) -> str:
    """A schedule's metric label: its name, ``GROUP/NAME`` outside the default group."""
    group = source.partition("/")[2]
    return f"{group}/{name}" if group else name
