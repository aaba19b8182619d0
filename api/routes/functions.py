"""Routes for functions (thin: schema in, use case or runtime call, schema out). The runtime is
``state.functions`` (``api.runtime``): in this process or in the workers, the routes cannot tell."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from api import console_schemas
from api import function_schemas as schemas
from api.deps import SessionDep, StateDep
from api.json_input import JsonRoute, check_payload
from api.runtime import FunctionRuntime
from api.services import costs, function_insights, live
from api.services import functions as use_cases
from api.state import AppState
from foundation.errors import Unavailable
from foundation.registry import functions as registry

router = APIRouter(prefix="/v1/functions", tags=["functions"], route_class=JsonRoute)
invocations_router = APIRouter(prefix="/v1/functions", tags=["functions"], route_class=JsonRoute)
"""The hot path in a router of its own, which ``api.app`` includes first (routes are tried in order)."""


def runtime_of(state: AppState) -> FunctionRuntime:
    runtime = state.functions
    if runtime is None:
        raise Unavailable("the function runtime is not running in this API process")
    return runtime


async def get_runtime(state: StateDep) -> FunctionRuntime:
    return runtime_of(state)


RuntimeDep = Annotated[FunctionRuntime, Depends(get_runtime)]


@invocations_router.post("/{name}/invocations", response_class=Response)
async def invoke_function(name: str, request: Request) -> Response:
    """The body is the event; the response body is the function's payload, untouched.

    ``X-Invocation-Type`` (RequestResponse, Event, DryRun), ``?qualifier=``, ``X-Amz-Log-Type: Tail``.
    Headers and the runtime are read straight from the request: this is the hot path, and FastAPI's
    parameter machinery would cost more than the invocation itself.
    """
    runtime = runtime_of(request.app.state.stepline)
    headers = request.headers
    payload = await request.body()
    check_payload(payload)
    result = await runtime.invoke(
        name, payload, qualifier=request.query_params.get("qualifier"),
        invocation_type=headers.get("x-invocation-type", "RequestResponse"),
    )  # fmt: skip
    out = {"X-Amz-Executed-Version": result.executed_version, "X-Amzn-RequestId": result.request_id}
    if result.function_error is not None:
        out["X-Amz-Function-Error"] = result.function_error
    if headers.get("x-amz-log-type") == "Tail" and result.log_result:
        out["X-Amz-Log-Result"] = result.log_result
    media_type = "application/json" if result.status_code == 200 else None
    return Response(result.payload, status_code=result.status_code, headers=out, media_type=media_type)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_function(
    body: schemas.FunctionCreate, session: SessionDep, state: StateDep, runtime: RuntimeDep,
    background: BackgroundTasks,
) -> schemas.FunctionPublic:  # fmt: skip
    created = await use_cases.create_function(session, runtime.code, body)
    background.add_task(use_cases.prepare_deployed, runtime, state.sessions, created)
    return created


@router.get("")
async def list_functions(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
) -> schemas.FunctionList:
    return await use_cases.list_functions(session, limit, next_token)


@router.get("/{name}")
async def get_function(
    name: str, session: SessionDep, qualifier: str | None = None
) -> schemas.FunctionPublic:
    return await use_cases.get_function(session, name, qualifier)


@router.put("/{name}")
async def update_function(
    name: str,
    body: schemas.FunctionUpdate,
    session: SessionDep,
    state: StateDep,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> schemas.FunctionPublic:
    updated = await use_cases.update_function(session, runtime.code, name, body)
    # old environments drain; provisioned ones restart on the new revision
    background.add_task(runtime.changed, name, retire=True, provision=True)
    background.add_task(use_cases.prepare_deployed, runtime, state.sessions, updated)
    return updated


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_function(
    name: str, session: SessionDep, state: StateDep, runtime: RuntimeDep, background: BackgroundTasks
) -> Response:
    await use_cases.delete_function(session, name, state.settings.region, state.settings)
    background.add_task(runtime.changed, name, retire=True)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/versions", status_code=status.HTTP_201_CREATED)
async def publish_version(
    name: str, session: SessionDep, state: StateDep, runtime: RuntimeDep, background: BackgroundTasks,
    body: schemas.PublishVersion | None = None,
) -> schemas.FunctionPublic:  # fmt: skip
    published = await use_cases.publish_version(session, name, body or schemas.PublishVersion())
    background.add_task(use_cases.prepare_deployed, runtime, state.sessions, published)
    return published


@router.get("/{name}/versions")
async def list_versions(name: str, session: SessionDep) -> schemas.VersionList:
    return await use_cases.list_versions(session, name)


@router.get("/{name}/concurrency")
async def get_concurrency(name: str, session: SessionDep, runtime: RuntimeDep) -> schemas.ConcurrencyInUse:
    """Reserved, provisioned and in use (the invocations running now over every worker)."""
    return await use_cases.concurrency(session, name, runtime.in_use)


@router.put("/{name}/concurrency")
async def set_concurrency(
    name: str, body: schemas.ConcurrencyUpdate, session: SessionDep, state: StateDep, runtime: RuntimeDep,
    background: BackgroundTasks,
) -> schemas.Concurrency:  # fmt: skip
    result = await use_cases.set_concurrency(session, name, body, state.settings.sandbox.max_environments)
    background.add_task(runtime.changed, name, provision=True)
    return result


@router.get("/{name}/metrics")
async def function_metrics(
    name: str, session: SessionDep,
    start: datetime | None = None, end: datetime | None = None,
    period: Annotated[int, Query(ge=1, le=86_400)] = 60,
) -> console_schemas.FunctionMetrics:  # fmt: skip
    """Invocations, cold starts, duration p50/p99 and GB-seconds over time (docs/console-api.md)."""
    return await function_insights.metrics(session, name, start, end, period)


@router.get("/{name}/cost")
async def function_cost(
    name: str, session: SessionDep, start: datetime | None = None, end: datetime | None = None
) -> console_schemas.CostEstimate:
    """An estimate in AWS Lambda's price model (x86, us-east-1) of the invocations in the window."""
    return await costs.function_cost(session, name, start, end)


@router.get("/{name}/logs/stream", response_class=StreamingResponse)
async def stream_logs(
    name: str, state: StateDep, since: datetime | None = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:  # fmt: skip
    """Server-Sent Events: the function's log lines as they are stored (``id:`` is the cursor)."""
    body = await live.open_function_logs(state, name, live.resume_point(last_event_id, None), since)
    return StreamingResponse(body, media_type="text/event-stream", headers=live.STREAM_HEADERS)


@router.get("/{name}/logs")
async def read_logs(
    name: str, session: SessionDep, runtime: RuntimeDep,
    request_id: Annotated[str | None, Query(alias="requestId")] = None,
    since: datetime | None = None, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> schemas.LogList:  # fmt: skip
    await registry.get_function(session, name)
    await runtime.flush_logs()
    rows = await registry.read_logs(session, name, request_id=request_id, since=since, limit=limit)
    return schemas.LogList(
        events=[
            schemas.LogEvent(timestamp=r.timestamp, request_id=r.request_id, message=r.message) for r in rows
        ]
    )
