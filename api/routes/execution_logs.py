"""Routes for execution logging: the ``/v1`` door to ``api.services.execution_logs``.

GET /v1/state-machines/{name}/logging-configuration   -> {level, includeExecutionData, destinations?}
PUT /v1/state-machines/{name}/logging-configuration   the same shape (Step Functions'
                                                       ``loggingConfiguration``) -> as kept
GET /v1/execution-logs   ?logGroup&stateMachine&executionArn&limit&nextToken&reverseOrder
                         -> {events, nextToken}
DELETE /v1/execution-logs?logGroup=NAME   -> {deleted}: the group's events (no retention applies)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from api.deps import StateDep
from api.json_input import JsonRoute
from api.services import execution_logs as service
from foundation.registry import execution_logs as registry
from foundation.registry.database import unit_of_work
from foundation.registry.state_machines import get_state_machine

router = APIRouter(tags=["execution logs"], route_class=JsonRoute)
_TEXT = {"max_length": 2048}


@router.get("/v1/state-machines/{name}/logging-configuration")
async def get_logging_configuration(name: str, state: StateDep) -> dict[str, Any]:
    async with unit_of_work(state.sessions) as session:
        await get_state_machine(session, name)  # 404 when there is none
        return await service.describe(session, name)


@router.put("/v1/state-machines/{name}/logging-configuration")
async def put_logging_configuration(
    name: str, state: StateDep, config: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Checked as CreateStateMachine's ``loggingConfiguration`` (400 InvalidLoggingConfiguration);
    executions started from now on log by it."""
    service.check(config)
    async with unit_of_work(state.sessions) as session:
        await get_state_machine(session, name)
        return await service.configure(session, name, config)


@router.get("/v1/execution-logs")
async def list_execution_logs(
    state: StateDep,
    log_group: Annotated[str | None, Query(alias="logGroup", **_TEXT)] = None,
    state_machine: Annotated[str | None, Query(alias="stateMachine", **_TEXT)] = None,
    execution_arn: Annotated[str | None, Query(alias="executionArn", **_TEXT)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = service.DEFAULT_PAGE,
    next_token: Annotated[str | None, Query(alias="nextToken", **_TEXT)] = None,
    reverse_order: Annotated[bool, Query(alias="reverseOrder")] = False,
) -> dict[str, Any]:
    """Log events (Step Functions' log event JSON in ``message``) in the order they were stored;
    ``reverseOrder=true``: the newest first."""
    async with unit_of_work(state.sessions) as session:
        return await service.page(
            session, limit, next_token, log_group, state_machine, execution_arn, newest_first=reverse_order
        )


@router.delete("/v1/execution-logs")
async def delete_execution_logs(
    state: StateDep, log_group: Annotated[str, Query(alias="logGroup", min_length=1, **_TEXT)]
) -> dict[str, int]:
    """Drop a log group's events (CloudWatch's DeleteLogGroup, for Stepline's own groups)."""
    async with unit_of_work(state.sessions) as session:
        return {"deleted": await registry.delete_group(session, log_group)}
