"""Alias use cases: create, read, list, update, delete, and provisioned concurrency on an alias.

A version an alias points at cannot be deleted (``delete_version``); a revision given must be the
alias's current one. Every rule lives in ``foundation.registry.aliases``; this module shapes views.
"""

from __future__ import annotations

from sqlalchemy import func, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from api import alias_schemas as schemas
from foundation.errors import Conflict, InvalidRequest
from foundation.registry import aliases as registry
from foundation.registry import function_permissions
from foundation.registry import functions as function_registry
from statemachine import function_arn


class RevisionMismatch(Conflict):
    """A revision id given that is not the alias's current one (Lambda: PreconditionFailedException)."""

    def __init__(self) -> None:
        super().__init__(
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
            "API to retrieve the latest Revision Id"
        )


def public(row: registry.FunctionAlias, region: str) -> schemas.AliasPublic:
    return schemas.AliasPublic(
        alias_arn=function_arn(row.function_name, row.name, region),
        name=row.name,
        function_version=row.function_version,
        description=row.description,
        routing_config=schemas.RoutingConfig(additional_version_weights=dict(row.routing)),
        revision_id=row.revision_id,
        provisioned_concurrency=row.provisioned_concurrency,
    )


def _weights(config: schemas.RoutingConfig | None) -> dict[str, float]:
    return dict(config.additional_version_weights) if config is not None else {}


async def create_alias(
    session: AsyncSession, function: str, body: schemas.AliasCreate, region: str
) -> schemas.AliasPublic:
    row = await registry.create_alias(
        session, function, body.name, body.function_version, body.description, _weights(body.routing_config)
    )
    return public(row, region)


async def get_alias(session: AsyncSession, function: str, name: str, region: str) -> schemas.AliasPublic:
    return public(await registry.get_alias(session, function, name), region)


async def list_aliases(
    session: AsyncSession, function: str, region: str, version: str | None = None
) -> schemas.AliasList:
    rows = await registry.list_aliases(session, function, version)
    return schemas.AliasList(aliases=[public(r, region) for r in rows])


async def update_alias(
    session: AsyncSession, function: str, name: str, body: schemas.AliasUpdate, region: str
) -> schemas.AliasPublic:
    if body.revision_id is not None:
        current = await registry.get_alias(session, function, name, for_update=True)
        if current.revision_id != body.revision_id:
            raise RevisionMismatch()
    changes: dict[str, object] = {}
    if body.function_version is not None:
        changes["function_version"] = body.function_version
    if body.description is not None:
        changes["description"] = body.description
    if body.routing_config is not None:
        changes["routing"] = _weights(body.routing_config)
    return public(await registry.update_alias(session, function, name, changes), region)


async def delete_alias(session: AsyncSession, function: str, name: str) -> None:
    """Delete an alias and the policy statements on it."""
    await registry.delete_alias(session, function, name)
    await function_permissions.delete_qualifier_statements(session, function, name)


async def check_version_unused(session: AsyncSession, function: str, version: str) -> None:
    """Refuse to delete a version an alias points at or routes to (Lambda's ResourceConflictException)."""
    names = await registry.aliases_of_version(session, function, version)
    if names:
        raise registry.VersionInUse(function, version, names)


async def set_provisioned(
    session: AsyncSession, function: str, name: str, count: int, max_environments: int, region: str
) -> schemas.AliasPublic:
    """Provisioned concurrency on an alias: its version's environments kept initialised, within the
    budget every function and alias shares (``registry.functions.provisioned_budget``)."""
    await session.exec(  # type: ignore[call-overload]  # the lock every concurrency change takes
        text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=function_registry._CONCURRENCY_LOCK)
    )
    alias = await registry.get_alias(session, function, name, for_update=True)
    if count and (alias.function_version == function_registry.LATEST):
        message = "Provisioned Concurrency Configs cannot be applied to an alias pointing to $LATEST"
        raise InvalidRequest(message, [{"location": "/provisioned", "message": message}])
    if count:
        functions_taken = select(
            func.coalesce(func.sum(function_registry.Function.provisioned_concurrency), 0)
        )
        taken = int((await session.exec(functions_taken)).one())
        taken += await registry.provisioned_total(session, except_alias=(function, name))
        budget = function_registry.provisioned_budget(max_environments)
        if taken + count > budget:
            exc = function_registry.ProvisionedOverBudget(
                count, max(budget - taken, 0), budget, max_environments
            )
            problem = {
                "location": "/provisioned",
                "code": "InvalidParameterValueException",
                "message": exc.detail,
            }
            raise InvalidRequest(exc.detail, [problem])
    return public(await registry.set_provisioned(session, function, name, count), region)
