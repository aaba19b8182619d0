"""Step Functions' activity and task token operations over ``api.services.activities`` and ``callbacks``.

CreateActivity, DescribeActivity, ListActivities, DeleteActivity, GetActivityTask (a long poll of up
to 60 seconds: set the client's read timeout above it, as AWS advises), SendTaskSuccess,
SendTaskFailure, SendTaskHeartbeat. Only AWS's shapes are made here.
"""

from __future__ import annotations

from typing import Any

from api.aws.errors import AwsError
from api.aws.json_protocol import Call
from api.aws.sfn_state_machines import DEFAULT_PAGE
from api.services import activities as service
from api.services import callbacks
from foundation.registry import tags
from foundation.registry.activities import Activity
from foundation.registry.database import unit_of_work
from statemachine import ArnError, activity_arn, states_resource


def activity_of(arn: str) -> str:
    """The activity an ARN names; InvalidArn otherwise."""
    try:
        parts = states_resource(arn, "activity")
    except ArnError as exc:
        raise AwsError("InvalidArn", str(exc)) from None
    if len(parts) != 1:
        raise AwsError("InvalidArn", f"Invalid Arn: 'Unable to parse ARN: {arn}'")
    return parts[0]


def _described(row: Activity, region: str) -> dict[str, Any]:
    return {"activityArn": activity_arn(row.name, region), "name": row.name, "creationDate": row.created_at}


async def create_activity(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    row = await service.create(call.state, params["name"])
    given = {tag["key"]: tag.get("value", "") for tag in params.get("tags") or []}
    if given:
        async with unit_of_work(call.state.sessions) as session:
            await tags.tag_resource(session, activity_arn(row.name, call.region), given)
    return {"activityArn": activity_arn(row.name, call.region), "creationDate": row.created_at}


async def describe_activity(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    row = await service.describe(call.state, activity_of(params["activityArn"]))
    return _described(row, call.region)


async def list_activities(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    rows, token = await service.page(
        call.state, params.get("maxResults") or DEFAULT_PAGE, params.get("nextToken")
    )
    return {"activities": [_described(row, call.region) for row in rows], "nextToken": token}


async def delete_activity(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = activity_of(params["activityArn"])
    await service.delete(call.state, name)
    async with unit_of_work(call.state.sessions) as session:
        await tags.delete_tags(session, activity_arn(name, call.region))
    return {}


async def get_activity_task(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = activity_of(params["activityArn"])
    task = await service.get_task(call.state, name, params.get("workerName"), service.AWS_WAIT_SECONDS)
    return {"taskToken": task.token, "input": task.input}


async def send_task_success(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await callbacks.send_success(call.state, params["taskToken"], params["output"])
    return {}


async def send_task_failure(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await callbacks.send_failure(call.state, params["taskToken"], params.get("error"), params.get("cause"))
    return {}


async def send_task_heartbeat(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await callbacks.send_heartbeat(call.state, params["taskToken"])
    return {}
