"""Function aliases: a name pointing at a version, with an optional weighted second version.

An alias ``name:alias`` resolves to its version, or (with ``routing``) to one of two published
versions by weight, as Lambda's ``RoutingConfig.AdditionalVersionWeights`` does. Provisioned
concurrency may be configured on an alias (its version's environments are kept warm). A version an
alias points at cannot be deleted. Repositories never commit: the caller owns the transaction.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Text, delete, func
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, InvalidRequest, NotFound
from foundation.registry import functions
from foundation.registry.event_invoke import EventInvokeConfig
from foundation.registry.function_urls import FunctionUrl
from foundation.registry.functions import LATEST, ResolvedFunction, utcnow

ALIAS_NAME = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}")
"""Lambda's alias names: 1-128 of letters, digits, ``-`` and ``_``, not all digits."""
MAX_ADDITIONAL_VERSIONS = 1
"""Lambda routes an alias to at most one version besides its own."""


class FunctionAlias(SQLModel, table=True):
    """One alias of one function."""

    __tablename__ = "function_alias"

    function_name: str = Field(
        sa_column=Column(Text, ForeignKey("function.name", ondelete="CASCADE"), primary_key=True)
    )
    name: str = Field(primary_key=True, max_length=128)
    function_version: str = Field(max_length=32)
    description: str = Field(default="", sa_type=Text)
    routing: dict[str, float] = Field(default_factory=dict, sa_type=JSON)
    """``AdditionalVersionWeights``: {version: weight in [0, 1]}, at most one entry."""
    provisioned_concurrency: int = 0
    revision_id: str = Field(max_length=36)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_modified: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AliasExists(Conflict):
    def __init__(self, function: str, name: str) -> None:
        self.function, self.name = function, name
        super().__init__(f"alias {name!r} of function {function!r} already exists")


class AliasNotFound(NotFound):
    def __init__(self, function: str, name: str) -> None:
        self.function, self.name = function, name
        super().__init__(f"alias {name!r} of function {function!r} does not exist")


class VersionInUse(Conflict):
    """A version an alias points at (or routes to) cannot be deleted."""

    def __init__(self, function: str, version: str, aliases: list[str]) -> None:
        super().__init__(
            f"Unable to delete version {version} of function {function} because the following aliases "
            f"reference it: {aliases}"
        )


def _invalid(location: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        message, [{"location": location, "message": message, "code": "InvalidParameterValueException"}]
    )


def is_alias(qualifier: str | None) -> bool:
    """Whether a qualifier names an alias (not ``$LATEST``, not a version number)."""
    return qualifier is not None and qualifier != LATEST and not qualifier.isdigit()


async def _check_targets(
    session: AsyncSession, function: str, version: str, routing: dict[str, float]
) -> None:
    """The version exists; routing goes to at most one other published version, weight in [0, 1]."""
    if version != LATEST:
        if not version.isdigit():
            raise _invalid("/functionVersion", f"FunctionVersion {version!r} must be $LATEST or a number")
        if await session.get(functions.FunctionVersion, (function, int(version))) is None:
            raise functions.FunctionNotFound(function, version)
    if len(routing) > MAX_ADDITIONAL_VERSIONS:
        raise _invalid(
            "/routingConfig", "Number of items in AdditionalVersionWeights cannot be greater than 1"
        )
    for extra, weight in routing.items():
        if not 0.0 <= weight <= 1.0:
            raise _invalid("/routingConfig", f"The weight of version {extra} must be between 0.0 and 1.0")
        if version == LATEST or extra == LATEST or not extra.isdigit():
            raise _invalid(
                "/routingConfig",
                "RoutingConfig is only supported between two published versions (not $LATEST)",
            )
        if extra == version:
            raise _invalid(
                "/routingConfig", f"Version {extra} is the alias's own version: it cannot be routed to again"
            )
        if await session.get(functions.FunctionVersion, (function, int(extra))) is None:
            raise functions.FunctionNotFound(function, extra)


async def create_alias(
    session: AsyncSession, function: str, name: str, version: str, description: str, routing: dict[str, float]
) -> FunctionAlias:
    if not ALIAS_NAME.fullmatch(name):
        raise _invalid("/name", f"alias name {name[:140]!r} must match {ALIAS_NAME.pattern}")
    await functions.get_function(session, function, for_update=True)  # serialises against deletes
    if await session.get(FunctionAlias, (function, name)) is not None:
        raise AliasExists(function, name)
    await _check_targets(session, function, version, routing)
    now = utcnow()
    row = FunctionAlias(
        function_name=function, name=name, function_version=version, description=description,
        routing=routing, revision_id=str(uuid.uuid4()), created_at=now, last_modified=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def get_alias(
    session: AsyncSession, function: str, name: str, *, for_update: bool = False
) -> FunctionAlias:
    await functions.get_function(session, function)
    query = select(FunctionAlias).where(FunctionAlias.function_name == function, FunctionAlias.name == name)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = (await session.exec(query)).first()
    if row is None:
        raise AliasNotFound(function, name)
    return row


async def list_aliases(
    session: AsyncSession, function: str, version: str | None = None
) -> list[FunctionAlias]:
    await functions.get_function(session, function)
    query = select(FunctionAlias).where(FunctionAlias.function_name == function)
    if version is not None:
        query = query.where(FunctionAlias.function_version == version)
    return list((await session.exec(query.order_by(col(FunctionAlias.name)))).all())


async def update_alias(
    session: AsyncSession, function: str, name: str, changes: dict[str, Any]
) -> FunctionAlias:
    """Change ``function_version``, ``description`` or ``routing`` (only those given)."""
    row = await get_alias(session, function, name, for_update=True)
    version = changes.get("function_version", row.function_version)
    routing = changes.get("routing", row.routing)
    await _check_targets(session, function, version, routing)
    row.function_version, row.routing = version, routing
    row.description = changes.get("description", row.description)
    row.revision_id = str(uuid.uuid4())
    row.last_modified = utcnow()
    session.add(row)
    await session.flush()
    return row


async def delete_alias(session: AsyncSession, function: str, name: str) -> None:
    """Delete an alias (Lambda answers 204 for one that does not exist too), with its function URL and
    its asynchronous invocation settings."""
    row = await session.get(FunctionAlias, (function, name))
    if row is not None:
        await session.delete(row)
        for table in (FunctionUrl, EventInvokeConfig):
            await session.exec(
                delete(table).where(col(table.function_name) == function, col(table.qualifier) == name)
            )
        await session.flush()


async def aliases_of_version(session: AsyncSession, function: str, version: str) -> list[str]:
    """The aliases pointing at or routing to ``version`` (which must not be deleted then)."""
    rows = (await session.exec(select(FunctionAlias).where(FunctionAlias.function_name == function))).all()
    return [r.name for r in rows if r.function_version == version or version in r.routing]


async def set_provisioned(session: AsyncSession, function: str, name: str, count: int) -> FunctionAlias:
    row = await get_alias(session, function, name, for_update=True)
    row.provisioned_concurrency = count
    row.last_modified = utcnow()
    session.add(row)
    await session.flush()
    return row


async def provisioned_total(session: AsyncSession, except_alias: tuple[str, str] | None = None) -> int:
    """Provisioned concurrency over every alias (but one)."""
    query = select(func.coalesce(func.sum(FunctionAlias.provisioned_concurrency), 0))
    if except_alias is not None:
        query = query.where(
            (col(FunctionAlias.function_name) != except_alias[0])
            | (col(FunctionAlias.name) != except_alias[1])
        )
    return int((await session.exec(query)).one())


async def provisioned_aliases(session: AsyncSession) -> list[FunctionAlias]:
    query = select(FunctionAlias).where(col(FunctionAlias.provisioned_concurrency) > 0)
    return list((await session.exec(query)).all())


async def resolve_targets(
    session: AsyncSession, function: str, qualifier: str | None
) -> list[tuple[ResolvedFunction, float]]:
    """What ``function[:qualifier]`` runs: one (resolved, 1.0), or an alias's versions with their
    weights (the alias's own takes what its additional version leaves)."""
    if not is_alias(qualifier):
        return [(await functions.resolve_function(session, function, qualifier), 1.0)]
    assert qualifier is not None
    row = await session.get(FunctionAlias, (function, qualifier))
    if row is None:
        raise functions.FunctionNotFound(function, qualifier)
    main = await functions.resolve_function(session, function, row.function_version)
    targets = [(main, 1.0 - sum(row.routing.values()))]
    for version, weight in row.routing.items():
        targets.append((await functions.resolve_function(session, function, version), weight))
    return targets
