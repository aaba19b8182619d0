"""Request and response bodies of schedules (EventBridge Scheduler's names, camelCase JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.schemas import Schema


class FlexibleTimeWindow(Schema):
    mode: Literal["OFF", "FLEXIBLE"] = "OFF"
    maximum_window_in_minutes: int | None = Field(default=None, ge=1, le=1440)


class ScheduleTargetIn(Schema):
    arn: str = Field(min_length=1, max_length=1600)
    """A function or a state machine of this Stepline."""
    input: str = Field(default="{}", max_length=8192)


class ScheduleIn(Schema):
    schedule_expression: str = Field(min_length=1, max_length=256)
    schedule_expression_timezone: str = Field(default="UTC", max_length=50)
    flexible_time_window: FlexibleTimeWindow = Field(default_factory=FlexibleTimeWindow)
    start_date: datetime | None = None
    end_date: datetime | None = None
    state: Literal["ENABLED", "DISABLED"] = "ENABLED"
    description: str = Field(default="", max_length=512)
    target: ScheduleTargetIn


class SchedulePublic(Schema):
    """A schedule with its status: slots fired, the next ones, the last delivery error."""

    name: str
    schedule_expression: str
    schedule_expression_timezone: str
    state: str
    description: str
    target: ScheduleTargetIn
    fired: int
    next_fire_times: list[datetime]
    last_error: str | None
