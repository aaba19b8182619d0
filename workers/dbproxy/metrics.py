"""Prometheus metrics of the db proxies in this process, read from the pools when scraped.

A collector rather than counters updated on every borrow: the pools keep plain integers, so the
hot path pays nothing and the numbers cannot drift from the pools' own state. Metrics are per
process (each one runs its own pools), labelled by proxy name.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from workers.dbproxy.manager import ProxyManager
from workers.dbproxy.pool import PoolStats

GAUGES = (
    ("size", "stepline_dbproxy_pool_size", "Server connections allowed (cluster-wide)"),
    ("open", "stepline_dbproxy_connections_open", "Server connections this process has open"),
    ("busy", "stepline_dbproxy_connections_busy", "Server connections lent to clients now"),
    ("idle", "stepline_dbproxy_connections_idle", "Server connections waiting in the pool"),
    ("waiting", "stepline_dbproxy_waiters", "Clients waiting for a server connection"),
)
COUNTERS = (
    ("borrows", "stepline_dbproxy_borrows", "Server connections lent to clients"),
    ("borrow_timeouts", "stepline_dbproxy_borrow_timeouts", "Clients refused after the borrow timeout"),
    ("queries", "stepline_dbproxy_queries", "Queries relayed (simple queries and Executes)"),
    ("slot_refusals", "stepline_dbproxy_slot_refusals", "Connections closed: every cluster-wide slot taken"),
    ("slot_yields", "stepline_dbproxy_slot_yields", "Connections given back to another process"),
)


class ProxyCollector(Collector):
    """Pool figures of the tracked managers, summed per proxy name."""

    def __init__(self) -> None:
        self.managers: weakref.WeakSet[ProxyManager] = weakref.WeakSet()

    def collect(self) -> Iterator[Metric]:
        totals: dict[str, dict[str, int]] = {}
        for manager in list(self.managers):
            for name, stats in manager.stats().items():
                into = totals.setdefault(name, {})
                for field in PoolStats.__dataclass_fields__:
                    value = int(getattr(stats, field))
                    into[field] = (
                        max(into.get(field, 0), value) if field == "size" else into.get(field, 0) + value
                    )
        for field, metric, text in GAUGES:
            gauge = GaugeMetricFamily(metric, text, labels=["proxy"])
            for name, values in sorted(totals.items()):
                gauge.add_metric([name], values[field])
            yield gauge
        for field, metric, text in COUNTERS:
            counter = CounterMetricFamily(metric, text, labels=["proxy"])
            for name, values in sorted(totals.items()):
                counter.add_metric([name], values[field])
            yield counter


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, ProxyCollector] = weakref.WeakKeyDictionary()


def track(manager: ProxyManager, registry: CollectorRegistry | None = None) -> None:
    """Export ``manager``'s pools in ``registry`` (the default registry when None)."""
    registry = registry if registry is not None else REGISTRY
    collector = _BY_REGISTRY.get(registry)
    if collector is None:
        collector = _BY_REGISTRY[registry] = ProxyCollector()
        registry.register(collector)
    collector.managers.add(manager)
