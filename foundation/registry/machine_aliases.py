"""State machine aliases: a name that routes executions to one or two published versions by weight.

``routing`` is kept as JSON text, ``[[published_version, weight], ...]`` in the order the user gave
(Describe shows them back in that order). Versions an alias routes to cannot be withdrawn
(``aliases_routing_to``).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Text, delete
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import NotFound

Routing = list[tuple[int, int]]
"""(published version, weight) pairs."""


class StateMachineAlias(SQLModel, table=True):
    """One alias of a state machine."""

    __tablename__ = "state_machine_alias"

    state_machine_name: str = Field(
        sa_column=Column(
            Text, ForeignKey("state_machine.name", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    name: str = Field(primary_key=True, max_length=80)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    routing: str = Field(sa_column=Column(Text, nullable=False))
    """``[[published_version, weight], ...]`` as JSON text."""
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))

    def routes(self) -> Routing:
        """The routing as (published version, weight) pairs."""
        return [(int(version), int(weight)) for version, weight in json.loads(self.routing)]


class AliasNotFound(NotFound):
    """No alias of that name for that machine."""

    def __init__(self, machine: str, name: str) -> None:
        self.machine = machine
        self.name = name
        super().__init__(f"alias {name!r} of state machine {machine!r} does not exist")


def routing_text(routing: Routing) -> str:
    return json.dumps([[version, weight] for version, weight in routing])


async def get_alias(session: AsyncSession, machine: str, name: str) -> StateMachineAlias:
    """The alias, or ``AliasNotFound``."""
    found = await session.get(StateMachineAlias, (machine, name))
    if found is None:
        raise AliasNotFound(machine, name)
    return found


async def find_alias(session: AsyncSession, machine: str, name: str) -> StateMachineAlias | None:
    return await session.get(StateMachineAlias, (machine, name))


async def save_alias(session: AsyncSession, alias: StateMachineAlias) -> StateMachineAlias:
    """Insert or update ``alias``."""
    merged = await session.merge(alias)
    await session.flush()
    return merged


async def delete_alias(session: AsyncSession, machine: str, name: str) -> bool:
    """False when there was no such alias."""
    result = await session.exec(
        delete(StateMachineAlias).where(
            col(StateMachineAlias.state_machine_name) == machine, col(StateMachineAlias.name) == name
        )
    )
    return bool(result.rowcount)


async def list_aliases(
    session: AsyncSession, machine: str, limit: int, after: str | None
) -> list[StateMachineAlias]:
    """Aliases of ``machine`` by name, ``limit`` of them after the name ``after``."""
    query = select(StateMachineAlias).where(StateMachineAlias.state_machine_name == machine)
    if after is not None:
        query = query.where(col(StateMachineAlias.name) > after)
    query = query.order_by(col(StateMachineAlias.name)).limit(limit)
    return list((await session.exec(query)).all())


async def count_aliases(session: AsyncSession, machine: str) -> int:
    return len(await list_aliases(session, machine, 1000, None))


async def aliases_routing_to(session: AsyncSession, machine: str, published: int) -> list[str]:
    """Names of the aliases of ``machine`` that route to its published version ``published``."""
    query = select(StateMachineAlias).where(StateMachineAlias.state_machine_name == machine)
    rows = (await session.exec(query.order_by(col(StateMachineAlias.name)))).all()
    return [a.name for a in rows if any(version == published for version, _ in a.routes())]
