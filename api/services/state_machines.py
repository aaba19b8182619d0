"""State machine use cases: create, update (a new version), describe, list, delete, validate."""

from __future__ import annotations

import json

from sqlmodel.ext.asyncio.session import AsyncSession

from api import schemas
from api.pagination import decode_token, encode_token
from api.services.definitions import checked_definition
from statemachine.diagnose import diagnose, diagnose_text, has_errors
from stepline.registry import state_machines as registry
from stepline.registry.state_machines import StateMachine, StateMachineVersion
from workers.contracts import state_machine_arn


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
    definition = checked_definition(body.definition)
    machine, version = await registry.create_state_machine(
        session, body.name, body.type, definition, body.description
    )
    return _public(machine, version, region)


async def update(
    session: AsyncSession, name: str, body: schemas.StateMachineUpdate, region: str
) -> schemas.StateMachinePublic:
    definition = checked_definition(body.definition)
    machine, version = await registry.add_version(session, name, definition, body.description)
    return _public(machine, version, region)


async def describe(
    session: AsyncSession, name: str, version: int | None, region: str
) -> schemas.StateMachinePublic:
    return _public(*await registry.get_state_machine(session, name, version), region)


async def list_page(
    session: AsyncSession, limit: int, next_token: str | None, region: str
) -> schemas.StateMachineList:
    after = decode_token("state-machines", next_token)["after"] if next_token else None
    rows = await registry.list_state_machines(session, limit + 1, after)
    token = encode_token("state-machines", {"after": rows[limit - 1].name}) if len(rows) > limit else None
    return schemas.StateMachineList(
        state_machines=[
            schemas.StateMachineSummary(
                name=m.name,
                state_machine_arn=state_machine_arn(m.name, region),
                type=m.type,
                latest_version=m.latest_version,
                creation_date=m.created_at,
            )
            for m in rows[:limit]
        ],
        next_token=token,
    )


async def delete(session: AsyncSession, name: str) -> None:
    await registry.delete_state_machine(session, name)


def validate(body: schemas.ValidateRequest) -> schemas.ValidateResponse:
    """ValidateStateMachineDefinition: text that is not a JSON object is a FAIL with diagnostics, not 400."""
    text = body.definition
    found = diagnose_text(text) if isinstance(text, str) else diagnose(text)
    return schemas.ValidateResponse(
        result="FAIL" if has_errors(found) else "OK",
        diagnostics=[
            schemas.Diagnostic(
                severity=d.severity, code=d.code, message=d.message, location=d.location or None
            )
            for d in found
        ],
    )
