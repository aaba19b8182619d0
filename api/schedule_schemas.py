"""Request and response bodies of schedules (EventBridge Scheduler's names, camelCase JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.schemas import Schema

NAME_PATTERN = r"^[0-9a-zA-Z\-_.]{1,64}$"


class FlexibleTimeWindow(Schema):
    mode: Literal["OFF", "FLEXIBLE"] = "OFF"
    maximum_window_in_minutes: int | None = Field(default=None, ge=1, le=1440)


class RetryPolicy(Schema):
    """EventBridge Scheduler's ``RetryPolicy`` (its defaults: 185 retries within a day)."""

    maximum_retry_attempts: int = Field(default=185, ge=0, le=185)
    maximum_event_age_in_seconds: int = Field(default=86400, ge=60, le=86400)


class DeadLetterConfig(Schema):
    arn: str = Field(min_length=1, max_length=1600)
    """A function, a state machine or an event bus of this Stepline (it has no SQS queues)."""


class ScheduleTargetIn(Schema):
    arn: str = Field(min_length=1, max_length=1600)
    """A function or a state machine of this Stepline."""
    input: str = Field(default="{}", max_length=8192)
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    dead_letter_config: DeadLetterConfig | None = None


class ScheduleIn(Schema):
    schedule_expression: str = Field(min_length=1, max_length=256)
    schedule_expression_timezone: str = Field(default="UTC", max_length=50)
    flexible_time_window: FlexibleTimeWindow = Field(default_factory=FlexibleTimeWindow)
    start_date: datetime | None = None
    end_date: datetime | None = None
    state: Literal["ENABLED", "DISABLED"] = "ENABLED"
    description: str = Field(default="", max_length=512)
    group_name: str = Field(default="default", pattern=NAME_PATTERN)
    action_after_completion: Literal["NONE", "DELETE"] = "NONE"
    """DELETE: a schedule deletes itself once no slot is left (an ``at()`` that fired, past EndDate)."""
    target: ScheduleTargetIn


class SchedulePublic(Schema):
    """A schedule with its status: slots fired, the next ones, the last delivery error."""

    name: str
    arn: str
    group_name: str
    schedule_expression: str
    schedule_expression_timezone: str
    flexible_time_window: FlexibleTimeWindow
    start_date: datetime | None
    end_date: datetime | None
    state: str
    description: str
    action_after_completion: str
    target: ScheduleTargetIn
    creation_date: datetime
    last_modification_date: datetime
    fired: int
    next_fire_times: list[datetime]
    last_error: str | None


class ScheduleSummary(Schema):
    name: str
    arn: str
    group_name: str
    state: str
    target_arn: str
    creation_date: datetime
    last_modification_date: datetime


class ScheduleList(Schema):
    schedules: list[ScheduleSummary]
    next_token: str | None = None


class ScheduleGroupPublic(Schema):
    name: str
    arn: str
    state: str
    creation_date: datetime
    last_modification_date: datetime
