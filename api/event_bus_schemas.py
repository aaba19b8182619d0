"""Request and response bodies of event buses, rules, targets and PutEvents on ``/v1`` (camelCase JSON,
EventBridge's names; patterns and details as JSON objects rather than text)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from api.schemas import Schema


class EventEntry(Schema):
    source: str = Field(min_length=1, max_length=256)
    detail_type: str = Field(min_length=1, max_length=256)
    detail: dict[str, Any]
    resources: list[str] = Field(default_factory=list, max_length=100)
    event_bus_name: str | None = Field(default=None, max_length=1600)


class PutEventsIn(Schema):
    entries: list[EventEntry] = Field(min_length=1, max_length=10)


class EventResult(Schema):
    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class PutEventsOut(Schema):
    failed_entry_count: int
    entries: list[EventResult]


class RuleIn(Schema):
    event_pattern: dict[str, Any]
    state: Literal["ENABLED", "DISABLED"] = "ENABLED"
    description: str = Field(default="", max_length=512)


class RulePublic(Schema):
    """A rule with its delivery status: events matched, deliveries made and failed, the last error."""

    name: str
    arn: str
    event_bus_name: str
    event_pattern: dict[str, Any]
    state: str
    description: str
    matched: int
    delivered: int
    failed: int
    last_error: str | None
    created_at: datetime


class RuleList(Schema):
    rules: list[RulePublic]


class InputTransformer(Schema):
    input_paths_map: dict[str, str] = Field(default_factory=dict)
    input_template: str = Field(max_length=8192)


class RetryPolicy(Schema):
    maximum_retry_attempts: int = Field(default=185, ge=0, le=185)
    maximum_event_age_in_seconds: int = Field(default=86400, ge=60, le=86400)


class DeadLetterConfig(Schema):
    arn: str = Field(min_length=1, max_length=1600)
    """A function or a state machine of this Stepline."""


class TargetIn(Schema):
    id: str = Field(min_length=1, max_length=64)
    arn: str = Field(min_length=1, max_length=1600)
    input: str | None = Field(default=None, max_length=8192)
    input_path: str | None = Field(default=None, max_length=256)
    input_transformer: InputTransformer | None = None
    retry_policy: RetryPolicy | None = None
    dead_letter_config: DeadLetterConfig | None = None


class TargetsIn(Schema):
    targets: list[TargetIn] = Field(min_length=1, max_length=5)


class TargetFailure(Schema):
    target_id: str
    error_code: str
    error_message: str


class TargetsOut(Schema):
    failed_entry_count: int
    failed_entries: list[TargetFailure]
