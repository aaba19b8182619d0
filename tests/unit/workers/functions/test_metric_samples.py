"""``metric_samples.counts``: a counter's value per function, as the sampler reads it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from workers.functions.metric_samples import counts
from workers.functions.metrics import function_metrics


def test_counts_per_function_label() -> None:
    metrics = function_metrics(CollectorRegistry())
    assert counts(metrics.errors) == {}
    metrics.errors.labels("a").inc()
    metrics.errors.labels("a").inc()
    metrics.errors.labels("b").inc(3)
    metrics.throttles.labels("a").inc()
    assert counts(metrics.errors) == {"a": 2, "b": 3}
    assert counts(metrics.throttles) == {"a": 1}
