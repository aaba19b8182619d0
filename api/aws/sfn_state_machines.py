"""Step Functions' state machine and version operations over ``api.services.state_machines``.

Each handler turns the AWS request into a use case call and the rows it returns into the AWS
response; the rules (checking definitions, versions, publishing) are the service's.
``loggingConfiguration`` is checked and kept (``api.services.execution_logs``); accepted but not
kept: ``tracingConfiguration`` and ``encryptionConfiguration`` (Describe answers tracing disabled).
"""

from __future__ import annotations

import re
from typing import Any

from api import schemas
from api.aws import arns
from api.aws.errors import AwsError
from api.aws.json_protocol import Call
from api.aws.sfn_tags import tag_new_resource
from api.services import execution_logs, machine_aliases
from api.services import state_machines as service
from foundation.registry.database import unit_of_work
from foundation.registry.state_machines import (
    StateMachine,
    StateMachineExists,
    StateMachineNotFound,
    StateMachineVersion,
    machine_exists,
)
from statemachine import EXECUTION_ROLE_ARN, state_machine_arn, version_arn

DEFAULT_PAGE = 100
TRACING_OFF = {"enabled": False}
_NAME = re.compile(schemas.NAME_PATTERN)
_UPDATABLE = ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration")


def check_name(name: str) -> str:
    """Names as ``/v1`` takes them (``api.schemas.NAME_PATTERN``); InvalidName otherwise."""
    if _NAME.fullmatch(name) is None:
        raise AwsError("InvalidName", f"Invalid Name: '{name}'")
    return name


def revision_id(version: StateMachineVersion) -> str | None:
    """The revision id AWS shows once a machine has been updated (none for the first revision)."""
    return str(version.version) if version.version > 1 else None


def role_of(version: StateMachineVersion) -> str:
    return version.role_arn or EXECUTION_ROLE_ARN


def _version_description(params: dict[str, Any]) -> str | None:
    description = params.get("versionDescription")
    if description is not None and not params.get("publish"):
        raise AwsError("ValidationException", "Version description can only be set when publish is true")
    return description if isinstance(description, str) else None


def _published_arn(machine: StateMachine, version: StateMachineVersion, region: str) -> str | None:
    if version.published_version is None:
        return None
    return version_arn(machine.name, version.published_version, region)


async def create_state_machine(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["name"])
    description = _version_description(params)
    logging = params.get("loggingConfiguration")
    if logging is not None:
        execution_logs.check(logging)  # before anything is created
    async with unit_of_work(call.state.sessions) as session:
        existed = await machine_exists(session, name)
        machine, version = await service.create_revision(
            session,
            name,
            params.get("type", "STANDARD"),
            params["definition"],
            description,
            role_arn=params["roleArn"],
            publish=bool(params.get("publish")),
            idempotent=True,
        )
        await tag_new_resource(session, state_machine_arn(name, call.region), params.get("tags"))
        if existed:  # AWS's idempotency covers the logging configuration too
            if await execution_logs.describe(session, name) != execution_logs.normalized(logging):
                raise StateMachineExists(name)
        elif logging is not None:
            await execution_logs.configure(session, name, logging)
    return {
        "stateMachineArn": state_machine_arn(name, call.region),
        "creationDate": machine.created_at,
        "stateMachineVersionArn": _published_arn(machine, version, call.region),
    }


async def describe_state_machine(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    ref = arns.state_machine(params["stateMachineArn"])
    if ref.alias is not None:
        raise AwsError(
            "InvalidArn", f"Invalid Arn: 'Unexpected alias ARN: {params['stateMachineArn']}' "
            "(DescribeStateMachineAlias describes an alias)",
        )  # fmt: skip
    async with unit_of_work(call.state.sessions) as session:
        machine, version = await service.revision(session, ref.name, published=ref.published)
        logging = await execution_logs.describe(session, ref.name)
    qualified = ref.published is not None
    return {
        "stateMachineArn": params["stateMachineArn"]
        if qualified
        else state_machine_arn(ref.name, call.region),
        "name": machine.name,
        "status": "ACTIVE",
        "definition": version.definition,
        "roleArn": role_of(version),
        "type": machine.type,
        "creationDate": version.published_at if qualified else machine.created_at,
        "loggingConfiguration": logging,
        "tracingConfiguration": TRACING_OFF,
        "revisionId": revision_id(version),
        "description": version.description if qualified else None,
    }


async def update_state_machine(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = arns.unqualified_state_machine(params["stateMachineArn"])
    if all(params.get(key) is None for key in _UPDATABLE):
        raise AwsError(
            "MissingRequiredParameter",
            "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration "
            "must be specified",
        )
    description = _version_description(params)
    logging = params.get("loggingConfiguration")
    if logging is not None:
        execution_logs.check(logging)
    async with unit_of_work(call.state.sessions) as session:
        machine, version = await service.update_revision(
            session,
            name,
            params.get("definition"),
            description,
            role_arn=params.get("roleArn"),
            publish=bool(params.get("publish")),
            keep_unchanged=True,
        )
        if logging is not None:
            await execution_logs.configure(session, name, logging)
    return {
        "updateDate": version.created_at,
        "revisionId": revision_id(version),
        "stateMachineVersionArn": _published_arn(machine, version, call.region)
        if params.get("publish")
        else None,
    }


async def delete_state_machine(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Deleting a machine that does not exist succeeds, as in AWS."""
    name = arns.unqualified_state_machine(params["stateMachineArn"])
    try:
        async with unit_of_work(call.state.sessions) as session:
            await service.delete(session, name, call.region)
    except StateMachineNotFound:
        pass
    return {}


async def list_state_machines(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        rows, token = await service.machines_page(
            session, params.get("maxResults") or DEFAULT_PAGE, params.get("nextToken")
        )
    return {
        "stateMachines": [
            {
                "stateMachineArn": state_machine_arn(m.name, call.region),
                "name": m.name,
                "type": m.type,
                "creationDate": m.created_at,
            }
            for m in rows
        ],
        "nextToken": token,
    }


async def validate_state_machine_definition(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """``severity`` ERROR (the default) reports errors only, WARNING both; at most ``maxResults``."""
    request = schemas.ValidateRequest(definition=params["definition"])
    report = service.validate(request, params.get("type", "STANDARD"))
    wanted = {"ERROR"} if params.get("severity", "ERROR") == "ERROR" else {"ERROR", "WARNING"}
    found = [d for d in report.diagnostics if d.severity in wanted]
    limit = params.get("maxResults") or 100
    return {
        "result": report.result,
        "diagnostics": [d.model_dump(exclude_none=True) for d in found[:limit]],
        "truncated": len(found) > limit,
    }


async def publish_state_machine_version(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = arns.unqualified_state_machine(params["stateMachineArn"])
    expected = _revision(params.get("revisionId"))
    async with unit_of_work(call.state.sessions) as session:
        machine, version = await service.publish(session, name, params.get("description"), expected)
    assert version.published_version is not None
    return {
        "creationDate": version.published_at,
        "stateMachineVersionArn": version_arn(machine.name, version.published_version, call.region),
    }


def _revision(given: str | None) -> int | None:
    """A revision id as its version number (an id we never issued matches no revision: 0)."""
    if given is None:
        return None
    return int(given) if given.isdigit() and given.isascii() and len(given) < 10 else 0


async def list_state_machine_versions(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = arns.unqualified_state_machine(params["stateMachineArn"])
    async with unit_of_work(call.state.sessions) as session:
        rows, token = await service.versions_page(
            session, name, params.get("maxResults") or DEFAULT_PAGE, params.get("nextToken")
        )
    return {
        "stateMachineVersions": [
            {
                "stateMachineVersionArn": version_arn(name, v.published_version, call.region),
                "creationDate": v.published_at,
            }
            for v in rows
            if v.published_version is not None
        ],
        "nextToken": token,
    }


async def delete_state_machine_version(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Deleting a version that does not exist succeeds, as in AWS; one an alias routes to is a
    ConflictException naming the aliases."""
    arn = params["stateMachineVersionArn"]
    ref = arns.state_machine(arn)
    if ref.published is None:
        raise AwsError("ValidationException", f"'{arn}' is not a state machine version ARN")
    async with unit_of_work(call.state.sessions) as session:
        await machine_aliases.check_unrouted(session, ref.name, ref.published)
        await service.unpublish(session, ref.name, ref.published)
    return {}
