"""Prometheus metrics of the function runtime (one set per registry, created on first use)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

_BY_REGISTRY: dict[int, FunctionMetrics] = {}


@dataclass(frozen=True, slots=True)
class FunctionMetrics:
    invocations: Counter
    errors: Counter
    throttles: Counter
    duration: Histogram
    concurrent: Gauge
    cold_starts: Counter
    billed_gb_seconds: Counter
    environments: Gauge


def function_metrics(registry: CollectorRegistry | None = None) -> FunctionMetrics:
    """The metrics in ``registry`` (the default registry when None), registered once."""
    registry = registry if registry is not None else REGISTRY
    found = _BY_REGISTRY.get(id(registry))
    if found is not None:
        return found
    label = ["function"]
    made = FunctionMetrics(
        invocations=Counter("stepline_function_invocations", "Invocations", label, registry=registry),
        errors=Counter("stepline_function_errors", "Invocations ending in a function error", label,
                       registry=registry),
        throttles=Counter("stepline_function_throttles", "Throttled invocations", label, registry=registry),
        duration=Histogram("stepline_function_duration_seconds", "Invocation duration", label,
                           registry=registry,
                           buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                    5, 10, 30, 60, 300, 900)),
        concurrent=Gauge("stepline_function_concurrent_executions", "Invocations running now", label,
                         registry=registry),
        cold_starts=Counter("stepline_function_cold_starts", "Invocations that started an environment", label,
                            registry=registry),
        billed_gb_seconds=Counter("stepline_function_billed_gb_seconds", "Billed duration x memory (GB-s)",
                                  label, registry=registry),
        environments=Gauge("stepline_function_environments", "Live execution environments in this worker",
                           registry=registry),
    )  # fmt: skip
    _BY_REGISTRY[id(registry)] = made
    return made
