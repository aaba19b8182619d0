"""Request and response bodies of event source mappings (camelCase JSON, Lambda's names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from api.schemas import Schema

StartingPosition = Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]
ResponseType = Literal["ReportBatchItemFailures"]


class OnFailure(Schema):
    destination: str | None = Field(default=None, max_length=350)
    """The ARN of a function, a state machine or an SQS queue; None: no destination."""


class DestinationConfig(Schema):
    on_failure: OnFailure = Field(default_factory=OnFailure)


class Filter(Schema):
    pattern: str = Field(max_length=4096)


class FilterCriteria(Schema):
    filters: list[Filter] = Field(default_factory=list, max_length=5)


class SelfManagedEventSource(Schema):
    """A broker of the mapping's own: ``{"endpoints": {"BROKER_URL": ["amqp://user:pass@host/vhost"]}}``
    (an operator-allowed host; sealed at rest, shown without its password)."""

    endpoints: dict[str, list[str]] = Field(min_length=1, max_length=1)


class MappingSettings(Schema):
    """The members an Update may change (all optional: an Update changes those given)."""

    function_name: str | None = Field(default=None, min_length=1, max_length=140)
    enabled: bool | None = None
    batch_size: int | None = Field(default=None, ge=1, le=10000)
    maximum_batching_window_in_seconds: int | None = Field(default=None, ge=0, le=300)
    parallelization_factor: int | None = Field(default=None, ge=1, le=10)
    destination_config: DestinationConfig | None = None
    maximum_record_age_in_seconds: int | None = Field(default=None, ge=-1, le=604800)
    bisect_batch_on_function_error: bool | None = None
    maximum_retry_attempts: int | None = Field(default=None, ge=-1, le=10000)
    function_response_types: list[ResponseType] | None = Field(default=None, max_length=1)
    filter_criteria: FilterCriteria | None = None


class MappingIn(MappingSettings):
    """CreateEventSourceMapping: a source and a function, the rest defaulted as Lambda does."""

    event_source_arn: str = Field(min_length=12, max_length=1024)
    function_name: str | None = Field(min_length=1, max_length=140)
    queues: list[str] | None = Field(default=None, min_length=1, max_length=1)
    starting_position: StartingPosition | None = None
    starting_position_timestamp: datetime | None = None
    self_managed_event_source: SelfManagedEventSource | None = None


class MappingPublic(Schema):
    uuid: str
    event_source_arn: str
    function_arn: str
    queues: list[str] | None
    state: str
    state_transition_reason: str
    last_modified: datetime
    last_processing_result: str
    last_error: str | None
    batch_size: int
    maximum_batching_window_in_seconds: int
    starting_position: str | None
    starting_position_timestamp: datetime | None
    parallelization_factor: int
    function_response_types: list[str]
    bisect_batch_on_function_error: bool
    maximum_retry_attempts: int
    maximum_record_age_in_seconds: int
    destination_config: DestinationConfig
    filter_criteria: dict[str, Any] | None
    self_managed_event_source: SelfManagedEventSource | None = None


class MappingList(Schema):
    event_source_mappings: list[MappingPublic]
