"""Prometheus metrics of event source mappings (one set per registry, created on first use)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

_BY_REGISTRY: dict[int, SourceMetrics] = {}


@dataclass(frozen=True, slots=True)
class SourceMetrics:
    received: Counter
    delivered: Counter
    failed: Counter
    oldest_age: Gauge


def source_metrics(registry: CollectorRegistry | None = None) -> SourceMetrics:
    """The metrics in ``registry`` (the default registry when None), registered once."""
    registry = registry if registry is not None else REGISTRY
    found = _BY_REGISTRY.get(id(registry))
    if found is not None:
        return found
    label = ["mapping"]
    made = SourceMetrics(
        received=Counter("stepline_event_source_records_received", "Records read from the source", label,
                         registry=registry),
        delivered=Counter("stepline_event_source_records_delivered",
                          "Records the function processed (or a filter dropped)", label, registry=registry),
        failed=Counter("stepline_event_source_records_failed",
                       "Records that failed for good (to the on-failure destination or dead-lettered)", label,
                       registry=registry),
        oldest_age=Gauge("stepline_event_source_oldest_record_age_seconds",
                         "Age of the oldest record of the last batch", label, registry=registry),
    )  # fmt: skip
    _BY_REGISTRY[id(registry)] = made
    return made
