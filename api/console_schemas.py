"""Response bodies of the console's read-only views: a state's step-through, Map iterations and
Parallel branches, function metrics, cost estimates (camelCase JSON; data as JSON values)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from api.schemas import Schema

StepStatus = Literal["SUCCEEDED", "FAILED", "CAUGHT_ERROR", "RUNNING"]
IterationStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "ABORTED"]


class StepStage(Schema):
    name: str
    """TestState's inspectionData key: input, afterInputPath, afterParameters, afterArguments, result,
    afterResultSelector, afterResultPath, errorOutput, output."""
    field: str | None
    """The definition field that produced it (InputPath, Parameters, ...); None for input and result."""
    expression: Any = None
    """That field's value in the definition (None: absent, the data passed through)."""
    value: Any


class StepAttempt(Schema):
    event_id: int
    type: str
    error: str | None
    cause: str | None


class StateSteps(Schema):
    state_name: str
    state_type: str
    query_language: str
    entered_event_id: int
    exited_event_id: int | None
    status: StepStatus
    next_state: str | None
    error: str | None
    cause: str | None
    inspection_data: dict[str, Any]
    output: Any
    recorded_output: Any
    stages: list[StepStage]
    variables: dict[str, Any]
    """The variables this state assigned."""
    variables_in_scope: dict[str, Any]
    """The variables it saw when entered."""
    attempts: list[StepAttempt]
    notes: list[str]


class IterationSummary(Schema):
    index: int
    status: IterationStatus
    started_event_id: int
    ended_event_id: int | None
    events_recorded: bool


class IterationList(Schema):
    state_name: str
    state_type: str
    total: int
    counts: dict[str, int]
    iterations: list[IterationSummary]
    next_token: str | None = None


class IterationEvents(Schema):
    index: int
    status: IterationStatus
    events: list[dict[str, Any]]


class MetricPoint(Schema):
    timestamp: datetime
    invocations: int
    errors: int | None
    throttles: int | None
    duration_p50_ms: float | None
    duration_p99_ms: float | None
    cold_starts: int
    gb_seconds: float


class MetricTotals(Schema):
    invocations: int
    errors: int | None
    throttles: int | None
    cold_starts: int
    gb_seconds: float


class FunctionMetrics(Schema):
    function_name: str
    period: int
    start: datetime
    end: datetime
    points: list[MetricPoint]
    totals: MetricTotals
    source: str


class CostItem(Schema):
    name: str
    description: str
    quantity: float
    unit: str
    unit_price: float
    amount: float


class CostEstimate(Schema):
    estimate: Literal[True] = True
    currency: Literal["USD"] = "USD"
    items: list[CostItem]
    total: float
    prices: dict[str, Any]
    notes: list[str]
