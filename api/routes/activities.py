"""Routes for activities and task tokens: the ``/v1`` door to ``api.services.activities`` and ``callbacks``.

POST   /v1/activities                      {name} -> 201 (idempotent, as CreateActivity)
GET    /v1/activities                      ?limit&nextToken
GET    /v1/activities/{name}
DELETE /v1/activities/{name}
POST   /v1/activities/{name}/tasks         ?workerName&waitSeconds (<= 60) -> {taskToken, input} (null: none)
POST   /v1/task-tokens/success             {taskToken, output (JSON) | outputText}
POST   /v1/task-tokens/failure             {taskToken, error?, cause?}
POST   /v1/task-tokens/heartbeat           {taskToken}
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import Field

from api.deps import StateDep
from api.json_input import JsonRoute
from api.schemas import Schema
from api.services import activities as service
from api.services import callbacks
from foundation.errors import InvalidRequest
from foundation.registry.activities import Activity

router = APIRouter(tags=["activities"], route_class=JsonRoute)


class CreateActivity(Schema):
    name: str


class ActivityPublic(Schema):
    name: str
    creation_date: datetime


class ActivityList(Schema):
    activities: list[ActivityPublic]
    next_token: str | None = None


class ActivityTask(Schema):
    task_token: str | None = None
    input: Any = None
    """The task's input (JSON); null when no task came within the wait."""


class TaskSuccess(Schema):
    task_token: str = Field(min_length=1, max_length=2048)
    output: Any = None
    output_text: str | None = None
    """Or the output as JSON text, as SendTaskSuccess takes it (not both)."""


class TaskFailure(Schema):
    task_token: str = Field(min_length=1, max_length=2048)
    error: str | None = Field(default=None, max_length=256)
    cause: str | None = Field(default=None, max_length=32768)


class TaskHeartbeat(Schema):
    task_token: str = Field(min_length=1, max_length=2048)


def _public(row: Activity) -> ActivityPublic:
    return ActivityPublic(name=row.name, creation_date=row.created_at)


@router.post("/v1/activities", status_code=status.HTTP_201_CREATED)
async def create_activity(body: CreateActivity, state: StateDep) -> ActivityPublic:
    return _public(await service.create(state, body.name))


@router.get("/v1/activities")
async def list_activities(
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
) -> ActivityList:
    rows, token = await service.page(state, limit, next_token)
    return ActivityList(activities=[_public(row) for row in rows], next_token=token)


@router.get("/v1/activities/{name}")
async def describe_activity(name: str, state: StateDep) -> ActivityPublic:
    return _public(await service.describe(state, name))


@router.delete("/v1/activities/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_activity(name: str, state: StateDep) -> Response:
    await service.delete(state, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/activities/{name}/tasks")
async def get_activity_task(
    name: str,
    state: StateDep,
    worker_name: Annotated[str | None, Query(alias="workerName", max_length=80)] = None,
    wait_seconds: Annotated[float, Query(alias="waitSeconds", ge=0, le=60)] = 60,
) -> ActivityTask:
    task = await service.get_task(state, name, worker_name, wait_seconds)
    return ActivityTask(task_token=task.token, input=None if task.input is None else json.loads(task.input))


@router.post("/v1/task-tokens/success", status_code=status.HTTP_204_NO_CONTENT)
async def send_task_success(body: TaskSuccess, state: StateDep) -> Response:
    if body.output_text is not None and body.output is not None:
        raise InvalidRequest("give output or outputText, not both", [{"location": "/outputText"}])
    text = body.output_text if body.output_text is not None else json.dumps(body.output)
    await callbacks.send_success(state, body.task_token, text)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/task-tokens/failure", status_code=status.HTTP_204_NO_CONTENT)
async def send_task_failure(body: TaskFailure, state: StateDep) -> Response:
    await callbacks.send_failure(state, body.task_token, body.error, body.cause)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/task-tokens/heartbeat", status_code=status.HTTP_204_NO_CONTENT)
async def send_task_heartbeat(body: TaskHeartbeat, state: StateDep) -> Response:
    await callbacks.send_heartbeat(state, body.task_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
