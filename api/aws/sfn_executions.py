"""Step Functions' execution operations over ``api.services.executions`` and ``sync_executions``.

Starting, stopping, listing and reading history are the services' use cases; here only AWS's
request and response shapes are made. Inputs and outputs go out as the JSON text that was stored.
Redrive is ``api.services.redrive``'s: Describe says whether an execution is redrivable and why not.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import orjson

from api import schemas
from api.aws import arns
from api.aws.errors import AwsError
from api.aws.json_protocol import Call
from api.aws.sfn_aliases import alias_arn
from api.aws.sfn_map_runs import check_map_run
from api.aws.sfn_state_machines import (
    DEFAULT_PAGE,
    TRACING_OFF,
    check_name,
    revision_id,
    role_of,
)
from api.services import costs, execution_logs, machine_aliases, map_runs, redrive, sync_executions
from api.services import executions as service
from api.services import state_machines as machines
from foundation.errors import Conflict
from foundation.registry.database import unit_of_work
from foundation.registry.executions import Execution
from foundation.registry.machine_aliases import AliasNotFound
from foundation.registry.map_runs import MapRunNotFound
from foundation.registry.state_machines import StateMachineNotFound
from statemachine import execution_arn, state_machine_arn, version_arn

NOT_SUPPORTED = "This operation is not supported by this type of state machine"
INCLUDED = {"included": True}
EXECUTION_DATA = frozenset({"input", "output"})
"""Event detail members that ``includeExecutionData: false`` leaves out."""


def _version_arn(row: Execution, region: str) -> str | None:
    if row.published_version is None:
        return None
    return version_arn(row.state_machine_name, row.published_version, region)


def _alias_arn(row: Execution, region: str) -> str | None:
    return None if row.alias_name is None else alias_arn(row.state_machine_name, row.alias_name, region)


async def _through_alias(call: Call, ref: arns.MachineRef) -> tuple[int | None, str | None]:
    """The published version to start (chosen by the alias's weights) and the alias, for an alias
    ARN; the ARN's own version otherwise. StateMachineDoesNotExist for an alias that does not exist."""
    if ref.alias is None:
        return ref.published, None
    async with unit_of_work(call.state.sessions) as session:
        try:
            chosen = await machine_aliases.resolve(session, ref.name, ref.alias)
        except AliasNotFound:
            raise StateMachineNotFound(ref.name) from None
    return chosen.published, chosen.alias


async def start_execution(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A version ARN starts that version; an alias ARN one of its versions, by weight; an ARN
    ending ``#TestCase`` (Step Functions Local's form) runs with that test case's mocks."""
    machine_arn, _, test_case = params["stateMachineArn"].partition("#")
    ref = arns.state_machine(machine_arn)
    name = check_name(params["name"]) if params.get("name") is not None else None
    body = schemas.StartExecution(name=name, input_text=params.get("input"))
    published, alias = await _through_alias(call, ref)
    try:
        started = await service.start(
            call.state, ref.name, body, published=published, only_running=True, alias=alias,
            test_case=test_case or None,
        )  # fmt: skip
    except Conflict:
        arn = execution_arn(ref.name, name or "", call.region)
        raise AwsError("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'") from None
    return {"executionArn": started.execution_arn, "startDate": started.start_date}


async def start_sync_execution(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Accepted on the ``sync-`` host as on any other (the Host header is not looked at)."""
    ref = arns.state_machine(params["stateMachineArn"])
    if params.get("name") is not None:
        check_name(params["name"])
    input_text = params.get("input")
    body = schemas.SyncExecutionRequest(input_text=input_text)
    published, _ = await _through_alias(call, ref)
    result = await sync_executions.run(call.state, ref.name, body, published=published)
    data = params.get("includedData", "ALL_DATA") == "ALL_DATA"
    output = result.output if result.status == "SUCCEEDED" else None
    return {
        "executionArn": result.execution_arn,
        "stateMachineArn": params["stateMachineArn"],
        "name": result.name,
        "startDate": result.start_date,
        "stopDate": result.stop_date,
        "status": result.status,
        "error": result.error,
        "cause": result.cause,
        "input": (input_text if input_text is not None else "{}") if data else None,
        "inputDetails": INCLUDED if data else None,
        "output": _json_text(output) if data and result.status == "SUCCEEDED" else None,
        "outputDetails": INCLUDED if data and result.status == "SUCCEEDED" else None,
        "billingDetails": _billing(result.start_date, result.stop_date),
    }


def _billing(start: datetime, stop: datetime | None) -> dict[str, int]:
    """Express billing as AWS reports it: the duration in 100 ms steps (at least one), 64 MB."""
    took = ((stop or start) - start).total_seconds() * 1000
    steps = max(1, math.ceil(took / costs.EXPRESS_BILLING_STEP_MS))
    return {
        "billedDurationInMilliseconds": steps * costs.EXPRESS_BILLING_STEP_MS,
        "billedMemoryUsedInMB": costs.EXPRESS_MEMORY_MB,
    }


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


async def describe_execution(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    ref = arns.execution(params["executionArn"])
    async with unit_of_work(call.state.sessions) as session:
        row = await service.row(session, ref.id)
        try:
            machine, _ = await machines.revision(
                session, row.state_machine_name, version=row.state_machine_version
            )
        except StateMachineNotFound:
            machine = None
    reason = redrive.not_redrivable_reason(row, machine.type if machine else None, datetime.now(UTC))
    data = params.get("includedData", "ALL_DATA") == "ALL_DATA"
    return {
        "executionArn": execution_arn(row.state_machine_name, row.name, call.region),
        "stateMachineArn": state_machine_arn(row.state_machine_name, call.region),
        "name": row.name,
        "status": row.status,
        "startDate": row.start_date,
        "stopDate": row.stop_date,
        "input": row.input if data else None,
        "inputDetails": INCLUDED if data else None,
        "output": row.output if data else None,
        "outputDetails": INCLUDED if data and row.output is not None else None,
        "error": row.error,
        "cause": row.cause,
        "stateMachineVersionArn": _version_arn(row, call.region),
        "stateMachineAliasArn": _alias_arn(row, call.region),
        "redriveCount": row.redrive_count,
        "redriveDate": row.redrive_date,
        "redriveStatus": "NOT_REDRIVABLE" if reason else "REDRIVABLE",
        "redriveStatusReason": reason,
    }


async def redrive_execution(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """``clientToken`` is accepted; a second redrive of the same attempt is ExecutionNotRedrivable
    (the execution is RUNNING again)."""
    ref = arns.execution(params["executionArn"])
    row = await redrive.redrive(call.state, ref.id)
    return {"redriveDate": row.redrive_date}


async def describe_state_machine_for_execution(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    ref = arns.execution(params["executionArn"])
    async with unit_of_work(call.state.sessions) as session:
        row = await service.row(session, ref.id)
        machine, version = await machines.revision(
            session, row.state_machine_name, version=row.state_machine_version
        )
        logging = await execution_logs.describe(session, machine.name)
    return {
        "stateMachineArn": state_machine_arn(machine.name, call.region),
        "name": machine.name,
        "definition": version.definition,
        "roleArn": role_of(version),
        "updateDate": version.created_at,
        "loggingConfiguration": logging,
        "tracingConfiguration": TRACING_OFF,
        "revisionId": revision_id(version),
    }


async def stop_execution(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    ref = arns.execution(params["executionArn"])
    body = schemas.StopExecution(error=params.get("error"), cause=params.get("cause"))
    stopped = await service.stop(call.state, ref.id, body)
    return {"stopDate": stopped.stop_date or datetime.now(UTC)}


async def _map_run_children(call: Call, map_run_arn: str) -> None:
    """ListExecutions of a map run: its child runs are kept as no executions. EXPRESS ones are
    Express executions, followed through the execution logs (AWS's StateMachineTypeNotSupported);
    STANDARD ones run inside their parent's history (UnsupportedOperation saying so)."""
    check_map_run(map_run_arn)
    async with unit_of_work(call.state.sessions) as session:
        try:
            run = await map_runs.describe(session, map_run_arn)
        except MapRunNotFound:
            raise AwsError("ResourceNotFound", f"Map run does not exist: {map_run_arn}") from None
    if run.execution_type == "EXPRESS":
        raise AwsError(
            "StateMachineTypeNotSupported",
            "This operation is not supported by EXPRESS child executions: their events are in the"
            " execution logs of the parent's state machine",
        )
    raise AwsError(
        "UnsupportedOperation",
        "The child runs of a STANDARD Distributed Map run in their parent's history and are not listed"
        " as executions by Stepline (DescribeMapRun counts them)",
    )


async def list_executions(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("mapRunArn") is not None:
        await _map_run_children(call, params["mapRunArn"])
    if params.get("stateMachineArn") is None:
        raise AwsError("ValidationException", "Must provide a StateMachine ARN or MapRun ARN")
    ref = arns.state_machine(params["stateMachineArn"])
    async with unit_of_work(call.state.sessions) as session:
        machine, _ = await machines.revision(session, ref.name, published=ref.published)  # or DoesNotExist
        if machine.type == "EXPRESS":  # Express executions are kept nowhere to list
            raise AwsError("StateMachineTypeNotSupported", NOT_SUPPORTED)
        if ref.alias is not None:
            try:
                await machine_aliases.describe(session, ref.name, ref.alias)
            except AliasNotFound:
                raise StateMachineNotFound(ref.name) from None
        rows, token = await service.executions_page(
            session,
            params.get("maxResults") or DEFAULT_PAGE,
            params.get("nextToken"),
            ref.name,
            params.get("statusFilter"),
            ref.published,
            alias=ref.alias,
            redriven={"REDRIVEN": True, "NOT_REDRIVEN": False}.get(params.get("redriveFilter") or ""),
        )
    return {
        "executions": [
            {
                "executionArn": execution_arn(r.state_machine_name, r.name, call.region),
                "stateMachineArn": state_machine_arn(r.state_machine_name, call.region),
                "name": r.name,
                "status": r.status,
                "startDate": r.start_date,
                "stopDate": r.stop_date,
                "stateMachineVersionArn": _version_arn(r, call.region),
                "stateMachineAliasArn": _alias_arn(r, call.region),
                "redriveCount": r.redrive_count,
                "redriveDate": r.redrive_date,
            }
            for r in rows
        ],
        "nextToken": token,
    }


async def get_execution_history(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    ref = arns.execution(params["executionArn"])
    events, token = await service.history_page(
        call.state,
        ref.id,
        params.get("maxResults") or DEFAULT_PAGE,
        params.get("nextToken"),
        bool(params.get("reverseOrder")),
    )
    if params.get("includeExecutionData") is False:
        events = [_without_data(e) for e in events]
    return {"events": events, "nextToken": token}


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {k: v for k, v in value.items() if k not in EXECUTION_DATA}
        if key.endswith("EventDetails") and isinstance(value, dict)
        else value
        for key, value in event.items()
    }
