"""Step Functions' map run operations over ``api.services.map_runs``: DescribeMapRun, ListMapRuns,
UpdateMapRun (MaxConcurrency and tolerance of a running map run, for the iterations not yet started).
"""

from __future__ import annotations

from typing import Any

from api.aws import arns
from api.aws.errors import AwsError
from api.aws.json_protocol import Call
from api.aws.sfn_state_machines import DEFAULT_PAGE
from api.services import map_runs as service
from foundation.errors import InvalidRequest
from foundation.registry.database import unit_of_work
from foundation.registry.map_runs import MapRunNotFound
from statemachine import state_machine_arn
from workers.contracts import MapRunUpdateRequest


def check_map_run(map_run_arn: str) -> None:
    """``...:mapRun:MACHINE:EXECUTION/STATE:ID``, naming its execution; InvalidArn otherwise."""
    if ":mapRun:" not in map_run_arn or "/" not in map_run_arn:
        raise AwsError("InvalidArn", f"Invalid Arn: 'Unable to parse ARN: {map_run_arn}'")
    arns.execution(map_run_arn.split("/", 1)[0].replace(":mapRun:", ":execution:", 1))


async def describe_map_run(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["mapRunArn"]
    check_map_run(arn)
    async with unit_of_work(call.state.sessions) as session:
        try:
            run = await service.describe(session, arn)
        except MapRunNotFound:
            raise AwsError("ResourceNotFound", f"Map run does not exist: {arn}") from None
    return {
        "mapRunArn": run.map_run_arn,
        "executionArn": run.execution_id,
        "status": run.status,
        "startDate": run.start_date,
        "stopDate": run.stop_date,
        "maxConcurrency": run.max_concurrency,
        "toleratedFailurePercentage": run.tolerated_failure_percentage,
        "toleratedFailureCount": run.tolerated_failure_count,
        "itemCounts": run.item_counts,
        "executionCounts": run.execution_counts,
        "redriveCount": run.redrive_count,
        **({"redriveDate": run.redrive_date} if run.redrive_date is not None else {}),
    }


async def update_map_run(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["mapRunArn"]
    check_map_run(arn)
    fields = ("maxConcurrency", "toleratedFailureCount", "toleratedFailurePercentage")
    if all(params.get(name) is None for name in fields):
        raise AwsError(
            "ValidationException",
            "At least one of maxConcurrency, toleratedFailureCount or toleratedFailurePercentage is required",
        )
    request = MapRunUpdateRequest(
        arn, params.get(fields[0]), params.get(fields[1]), _percentage(params.get(fields[2]))
    )
    try:
        await service.update(call.state, request)
    except MapRunNotFound:
        raise AwsError("ResourceNotFound", f"Map run does not exist: {arn}") from None
    except InvalidRequest as exc:
        raise AwsError("ValidationException", exc.detail) from None
    return {}


def _percentage(value: Any) -> float | None:
    return None if value is None else float(value)


async def list_map_runs(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    ref = arns.execution(params["executionArn"])
    limit = params.get("maxResults") or DEFAULT_PAGE
    after = params.get("nextToken")
    async with unit_of_work(call.state.sessions) as session:
        _, rows = await service.list_for_execution(session, ref.id, call.region, after, limit + 1)
    page = rows[:limit]
    machine = state_machine_arn(ref.machine, call.region)
    runs = [
        {
            "executionArn": row.execution_id,
            "mapRunArn": row.map_run_arn,
            "stateMachineArn": machine,
            "startDate": row.start_date,
            "stopDate": row.stop_date,
        }
        for row in page
    ]
    return {"mapRuns": runs, "nextToken": page[-1].map_run_arn if len(rows) > limit else None}
