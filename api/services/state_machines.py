"""State machine use cases: create, update (a new version), publish, describe, list, delete, validate.

The use cases return registry rows (``Revision``); ``/v1`` formats them with ``_public`` and the AWS
endpoint (``api.aws.sfn_state_machines``) in Step Functions' shapes. Rules live here once: how a
definition is checked, when an update makes a new version, how publishing and its optimistic check
work, that a deleted machine's tags go with it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from api import schemas
from api.pagination import decode_token, encode_token
from api.services import execution_logs
from api.services.definitions import checked_definition
from foundation.errors import Conflict
from foundation.registry import state_machines as registry
from foundation.registry import tags
from foundation.registry.state_machines import StateMachine, StateMachineExists, StateMachineVersion
from statemachine import (
    diagnose,
    diagnose_text,
    express_diagnostics,
    has_errors,
    sdk_diagnostics,
    state_machine_arn,
)
from workers.integrations import known_operation

Revision = tuple[StateMachine, StateMachineVersion]
"""A machine and one of its versions."""


def _public(machine: StateMachine, version: StateMachineVersion, region: str) -> schemas.StateMachinePublic:
    return schemas.StateMachinePublic(
        name=machine.name,
        state_machine_arn=state_machine_arn(machine.name, region),
        type=machine.type,
        version=version.version,
        latest_version=machine.latest_version,
        definition=json.loads(version.definition),
        description=version.description,
        creation_date=machine.created_at,
        version_date=version.created_at,
    )


async def create(
    session: AsyncSession, body: schemas.StateMachineCreate, region: str
) -> schemas.StateMachinePublic:
    if body.logging_configuration is not None:
        execution_logs.check(body.logging_configuration)  # before anything is created
    revision = await create_revision(session, body.name, body.type, body.definition, body.description)
    if body.logging_configuration is not None:
        await execution_logs.configure(session, body.name, body.logging_configuration)
    return _public(*revision, region)


async def create_revision(
    session: AsyncSession,
    name: str,
    type_: str,
    definition: dict[str, Any] | str,
    description: str | None,
    *,
    role_arn: str | None = None,
    publish: bool = False,
    idempotent: bool = False,
) -> Revision:
    """A new machine at version 1. With ``idempotent`` (Step Functions' rule), creating a machine
    that exists with the very same definition text, type and role returns it instead of failing."""
    text = checked_definition(definition, type_)
    try:
        return await registry.create_state_machine(
            session, name, type_, text, description, role_arn=role_arn, publish=publish
        )
    except StateMachineExists:
        if not idempotent:
            raise
        machine, latest = await registry.get_state_machine(session, name)
        if (machine.type, latest.definition, latest.role_arn) != (type_, text, role_arn):
            raise
        return machine, latest


async def update(
    session: AsyncSession, name: str, body: schemas.StateMachineUpdate, region: str
) -> schemas.StateMachinePublic:
    return _public(*await update_revision(session, name, body.definition, body.description), region)


async def update_revision(
    session: AsyncSession,
    name: str,
    definition: dict[str, Any] | str | None,
    description: str | None,
    *,
    role_arn: str | None = None,
    publish: bool = False,
    keep_unchanged: bool = False,
) -> Revision:
    """The next version (``definition`` or ``role_arn`` None: the latest version's). With
    ``keep_unchanged`` (Step Functions' rule), an update that changes nothing makes no version;
    ``publish`` then publishes the latest one (idempotent)."""
    machine, latest = await registry.get_state_machine(session, name)
    text = latest.definition if definition is None else checked_definition(definition, machine.type)
    role = latest.role_arn if role_arn is None else role_arn
    if keep_unchanged and (text, role) == (latest.definition, latest.role_arn):
        return await registry.publish_version(session, name, description) if publish else (machine, latest)
    return await registry.add_version(session, name, text, description, role_arn=role, publish=publish)


async def publish(
    session: AsyncSession, name: str, description: str | None, expected_version: int | None = None
) -> Revision:
    """Publish the latest version (idempotent); Conflict when ``expected_version`` is given and is
    not the latest (someone updated the machine in between)."""
    try:
        return await registry.publish_version(session, name, description, expected_version)
    except registry.NotLatest as exc:
        raise Conflict(
            f"Failed to publish the State Machine version for revision {exc.expected}. "
            f"The current State Machine revision is {exc.latest}."
        ) from None


async def describe(
    session: AsyncSession, name: str, version: int | None, region: str
) -> schemas.StateMachinePublic:
    return _public(*await revision(session, name, version=version), region)


async def revision(
    session: AsyncSession, name: str, *, version: int | None = None, published: int | None = None
) -> Revision:
    """The machine with version ``version``, or its published version ``published``, or else its
    latest; StateMachineNotFound when there is no such machine or version."""
    return await registry.get_state_machine(session, name, version, published=published)


async def list_page(
    session: AsyncSession, limit: int, next_token: str | None, region: str
) -> schemas.StateMachineList:
    rows, token = await machines_page(session, limit, next_token)
    return schemas.StateMachineList(
        state_machines=[
            schemas.StateMachineSummary(
                name=m.name,
                state_machine_arn=state_machine_arn(m.name, region),
                type=m.type,
                latest_version=m.latest_version,
                creation_date=m.created_at,
            )
            for m in rows
        ],
        next_token=token,
    )


async def machines_page(
    session: AsyncSession, limit: int, next_token: str | None
) -> tuple[list[StateMachine], str | None]:
    """Machines by name, ``limit`` of them after the ``next_token`` position, and the next token."""
    after = decode_token("state-machines", next_token)["after"] if next_token else None
    rows = await registry.list_state_machines(session, limit + 1, after)
    token = encode_token("state-machines", {"after": rows[limit - 1].name}) if len(rows) > limit else None
    return rows[:limit], token


async def versions_page(
    session: AsyncSession, name: str, limit: int, next_token: str | None
) -> tuple[list[StateMachineVersion], str | None]:
    """Published versions of ``name``, newest first, and the next token."""
    await registry.get_state_machine(session, name)  # StateMachineNotFound for an unknown machine
    before = int(decode_token("versions", next_token)["before"]) if next_token else None
    rows = await registry.list_published_versions(session, name, limit + 1, before)
    more = len(rows) > limit
    token = encode_token("versions", {"before": rows[limit - 1].published_version}) if more else None
    return rows[:limit], token


async def unpublish(session: AsyncSession, name: str, published: int) -> bool:
    """Withdraw a published version; False when it was not published (nothing to do)."""
    return await registry.unpublish_version(session, name, published)


async def delete(session: AsyncSession, name: str, region: str) -> None:
    """Remove the machine, its versions and its tags (its executions stay)."""
    await registry.delete_state_machine(session, name)
    await tags.delete_tags(session, state_machine_arn(name, region))


def validate(body: schemas.ValidateRequest, machine_type: str = "STANDARD") -> schemas.ValidateResponse:
    """ValidateStateMachineDefinition: text that is not a JSON object is a FAIL with diagnostics, not 400."""
    text = body.definition
    found = diagnose_text(text) if isinstance(text, str) else diagnose(text)
    if machine_type == "EXPRESS" and not has_errors(found):
        found += express_diagnostics(json.loads(text) if isinstance(text, str) else text)
    if not has_errors(found):
        found += sdk_diagnostics(json.loads(text) if isinstance(text, str) else text, known_operation)
    return schemas.ValidateResponse(
        result="FAIL" if has_errors(found) else "OK",
        diagnostics=[
            schemas.Diagnostic(
                severity=d.severity, code=d.code, message=d.message, location=d.location or None
            )
            for d in found
        ],
    )
