"""What the API's lifespan builds and every request shares."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.event_metrics import RuleMetrics
from api.runtime import FunctionRuntime
from foundation.registry.database import SessionMaker
from foundation.registry.notices import NoticeListener
from foundation.settings import Settings
from workers.contracts import Invoker


@dataclass
class Metrics:
    """Prometheus metrics of one app (its own registry, so several apps can live in one process)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    requests: Counter = field(init=False)
    latency: Histogram = field(init=False)
    executions_started: Counter = field(init=False)
    event_rules: RuleMetrics = field(init=False)
    """Rules' counters from the registry (``api.event_metrics``), refreshed per scrape."""

    def __post_init__(self) -> None:
        self.requests = Counter(
            "stepline_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "stepline_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.executions_started = Counter(
            "stepline_executions_started", "Executions started", ["type"], registry=self.registry
        )
        self.event_rules = RuleMetrics()
        self.registry.register(self.event_rules)


@dataclass
class AppState:
    """Built by the lifespan; the function runtime's hook sets ``functions`` (what the function routes
    and the Lambda endpoint call) and ``function_invoker`` (synchronous executions' Task states, and a
    colocated worker's: the ``FunctionService`` itself when it runs in this process)."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionMaker
    temporal: Client
    metrics: Metrics
    functions: FunctionRuntime | None = None
    function_invoker: Invoker | None = None
    notices: NoticeListener = field(init=False)
    """The live streams' notices (``foundation.registry.notices``): listens once one subscribes."""

    def __post_init__(self) -> None:
        self.notices = NoticeListener(self.settings.database.url.get_secret_value())
