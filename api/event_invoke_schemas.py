"""Request and response bodies of asynchronous invocation settings (camelCase JSON, Lambda's names)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas import Schema
from foundation.registry.event_invoke import MAX_EVENT_AGE_SECONDS, MAX_RETRY_ATTEMPTS, MIN_EVENT_AGE_SECONDS


class Destination(Schema):
    destination: str | None = Field(default=None, max_length=350)
    """The ARN of a function, a state machine or an SQS queue; None: no destination."""


class DestinationConfig(Schema):
    on_success: Destination = Field(default_factory=Destination)
    on_failure: Destination = Field(default_factory=Destination)


class EventInvokeConfigIn(Schema):
    """Put replaces every member; Update changes those given."""

    maximum_retry_attempts: int | None = Field(default=None, ge=0, le=MAX_RETRY_ATTEMPTS)
    maximum_event_age_in_seconds: int | None = Field(
        default=None, ge=MIN_EVENT_AGE_SECONDS, le=MAX_EVENT_AGE_SECONDS
    )
    destination_config: DestinationConfig | None = None


class EventInvokeConfigPublic(Schema):
    function_arn: str
    last_modified: datetime
    maximum_retry_attempts: int | None
    maximum_event_age_in_seconds: int | None
    destination_config: DestinationConfig


class EventInvokeConfigList(Schema):
    function_event_invoke_configs: list[EventInvokeConfigPublic]
