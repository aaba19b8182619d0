"""EventBridge Scheduler's operations over ``api.services.schedules`` and ``schedule_groups``: AWS's
members in, AWS's shapes out (``api.aws.scheduler_endpoint`` routes and checks them).

Targets are Stepline's own functions and state machines (``Arn``; ``RoleArn`` is required by the
model and kept out of the way), with ``Input``, ``RetryPolicy`` and ``DeadLetterConfig`` (a function,
state machine or event bus ARN: Stepline has no SQS). Target kinds of other services (ECS, Kinesis,
SageMaker, SQS parameters, EventBridge parameters) and ``KmsKeyArn`` are refused by name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from api import schedule_schemas as schemas
from api.aws.errors import AwsError
from api.aws.shapes import request_timestamp
from api.services import schedule_groups as groups
from api.services import schedules as service
from api.state import AppState
from foundation.registry import schedules as index
from foundation.registry import tags
from foundation.registry.database import unit_of_work

Output = dict[str, Any] | None
SERVED_TARGET = frozenset({"Arn", "RoleArn", "Input", "RetryPolicy", "DeadLetterConfig"})


@dataclass
class Call:
    state: AppState
    request_id: str

    @property
    def region(self) -> str:
        return self.state.settings.region

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with unit_of_work(self.state.sessions) as session:
            yield session


Operation = Callable[[Call, dict[str, Any]], Awaitable[Output]]


def _body(params: dict[str, Any]) -> schemas.ScheduleIn:
    target = params["Target"]
    others = sorted(set(target) - SERVED_TARGET)
    if others:
        raise AwsError(
            "ValidationException", f"Target {', '.join(others)} is not supported by this Stepline."
        )
    if params.get("KmsKeyArn"):
        raise AwsError("ValidationException", "KmsKeyArn is not supported by this Stepline.")
    window = params["FlexibleTimeWindow"]
    retry = target.get("RetryPolicy") or {}
    dead = target.get("DeadLetterConfig") or {}
    body = {
        "scheduleExpression": params["ScheduleExpression"],
        "scheduleExpressionTimezone": params.get("ScheduleExpressionTimezone") or "UTC",
        "flexibleTimeWindow": {
            "mode": window["Mode"],
            "maximumWindowInMinutes": window.get("MaximumWindowInMinutes"),
        },
        "startDate": request_timestamp(params.get("StartDate")),
        "endDate": request_timestamp(params.get("EndDate")),
        "state": params.get("State") or "ENABLED",
        "description": params.get("Description") or "",
        "groupName": params.get("GroupName") or index.DEFAULT_GROUP,
        "actionAfterCompletion": params.get("ActionAfterCompletion") or "NONE",
        "target": {
            "arn": target["Arn"],
            "input": target.get("Input") or "{}",
            "retryPolicy": {
                "maximumRetryAttempts": retry.get("MaximumRetryAttempts", 185),
                "maximumEventAgeInSeconds": retry.get("MaximumEventAgeInSeconds", 86400),
            },
            "deadLetterConfig": {"arn": dead["Arn"]} if dead.get("Arn") else None,
        },
    }
    try:
        return schemas.ScheduleIn.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise AwsError("ValidationException", f"{where}: {first.get('msg')}") from None


async def create_schedule(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        made = await service.create(
            session, call.state.temporal, call.state.settings, params["Name"], _body(params)
        )
    return {"ScheduleArn": made.arn}


async def update_schedule(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        made = await service.update(
            session, call.state.temporal, call.state.settings, params["Name"], _body(params)
        )
    return {"ScheduleArn": made.arn}


async def get_schedule(call: Call, params: dict[str, Any]) -> Output:
    group = params.get("GroupName") or index.DEFAULT_GROUP
    async with call.session() as session:
        found = await service.get(session, call.state.temporal, call.state.settings, params["Name"], group)
    target = found.target
    shaped: dict[str, Any] = {"Arn": target.arn, "RoleArn": _ROLE, "Input": target.input}
    shaped["RetryPolicy"] = {
        "MaximumRetryAttempts": target.retry_policy.maximum_retry_attempts,
        "MaximumEventAgeInSeconds": target.retry_policy.maximum_event_age_in_seconds,
    }
    if target.dead_letter_config is not None:
        shaped["DeadLetterConfig"] = {"Arn": target.dead_letter_config.arn}
    window = found.flexible_time_window
    return {
        "ActionAfterCompletion": found.action_after_completion, "Arn": found.arn,
        "CreationDate": found.creation_date, "Description": found.description or None,
        "EndDate": found.end_date, "StartDate": found.start_date,
        "FlexibleTimeWindow": _window(window),
        "GroupName": found.group_name, "LastModificationDate": found.last_modification_date,
        "Name": found.name, "ScheduleExpression": found.schedule_expression,
        "ScheduleExpressionTimezone": found.schedule_expression_timezone, "State": found.state,
        "Target": shaped,
    }  # fmt: skip


def _window(window: schemas.FlexibleTimeWindow) -> dict[str, Any]:
    return {"Mode": window.mode, "MaximumWindowInMinutes": window.maximum_window_in_minutes}


_ROLE = "arn:aws:iam::000000000000:role/stepline-scheduler"
"""The role ``GetSchedule`` reports: Stepline keeps none (the model requires one on the way in)."""


async def delete_schedule(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        await service.delete(
            session, call.state.temporal, params["Name"], params.get("GroupName") or index.DEFAULT_GROUP
        )
    return None


async def list_schedules(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        page = await service.list_schedules(
            session, call.state.settings, group=params.get("GroupName"),
            prefix=params.get("NamePrefix") or "", state=params.get("State"),
            limit=params.get("MaxResults") or 100, next_token=params.get("NextToken"),
        )  # fmt: skip
    schedules = [
        {
            "Arn": s.arn,
            "CreationDate": s.creation_date,
            "GroupName": s.group_name,
            "LastModificationDate": s.last_modification_date,
            "Name": s.name,
            "State": s.state,
            "Target": {"Arn": s.target_arn},
        }
        for s in page.schedules
    ]
    return {"Schedules": schedules, "NextToken": page.next_token}


def _group(found: schemas.ScheduleGroupPublic) -> dict[str, Any]:
    return {
        "Arn": found.arn, "CreationDate": found.creation_date,
        "LastModificationDate": found.last_modification_date, "Name": found.name, "State": found.state,
    }  # fmt: skip


def _tags(given: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in given or ()}


async def create_schedule_group(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        made = await groups.create(session, call.state.settings, params["Name"], _tags(params.get("Tags")))
    return {"ScheduleGroupArn": made.arn}


async def get_schedule_group(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        return _group(await groups.get(session, call.state.settings, params["Name"]))


async def list_schedule_groups(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        found = await groups.list_groups(session, call.state.settings, params.get("NamePrefix") or "")
    limit = params.get("MaxResults") or 100
    start = int(params["NextToken"]) if str(params.get("NextToken") or "").isdigit() else 0
    page = found[start : start + limit]
    token = str(start + limit) if start + limit < len(found) else None
    return {"ScheduleGroups": [_group(g) for g in page], "NextToken": token}


async def delete_schedule_group(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        await groups.delete(session, call.state.temporal, call.state.settings, params["Name"])
    return None


async def _group_of(session: AsyncSession, arn: str) -> str:
    """The group a tag operation's ARN names (only groups carry tags, as on AWS)."""
    marker = ":schedule-group/"
    if marker not in arn:
        raise AwsError("ResourceNotFoundException", f"Schedule group {arn[:256]} does not exist.", 404)
    name = arn.split(marker, 1)[1]
    await index.get_group(session, name)
    return arn


async def tag_resource(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        await tags.tag_resource(
            session, await _group_of(session, params["ResourceArn"]), _tags(params["Tags"])
        )
    return None


async def untag_resource(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        await tags.untag_resource(session, await _group_of(session, params["ResourceArn"]), params["TagKeys"])
    return None


async def list_tags_for_resource(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        found = await tags.list_tags(session, await _group_of(session, params["ResourceArn"]))
    return {"Tags": [{"Key": k, "Value": v} for k, v in found.items()]}


OPERATIONS: dict[str, Operation] = {
    "CreateSchedule": create_schedule,
    "GetSchedule": get_schedule,
    "UpdateSchedule": update_schedule,
    "DeleteSchedule": delete_schedule,
    "ListSchedules": list_schedules,
    "CreateScheduleGroup": create_schedule_group,
    "GetScheduleGroup": get_schedule_group,
    "ListScheduleGroups": list_schedule_groups,
    "DeleteScheduleGroup": delete_schedule_group,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
