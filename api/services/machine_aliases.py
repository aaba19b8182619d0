"""State machine alias use cases: create (idempotent), describe, update, delete, list, and choosing
the version an execution started through an alias runs (weighted, at random).

Rules, as Step Functions states them: an alias routes to one published version (weight 100) or to
two distinct ones whose weights (0-100) add up to 100; at most 100 aliases per machine; creating
an alias that exists with the very same description and routing returns it, otherwise Conflict;
an alias name is 1-80 letters, digits, ``-``, ``_`` or ``.`` and not only digits (a version's number).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from api.pagination import decode_token, encode_token
from foundation.errors import Conflict, InvalidRequest
from foundation.registry import machine_aliases as registry
from foundation.registry import state_machines as machines
from foundation.registry.machine_aliases import Routing, StateMachineAlias
from foundation.registry.state_machines import StateMachineNotFound, utcnow

MAX_ALIASES = 100
_ALIAS_NAME = re.compile(r"(?=.*[A-Za-z_.\-])[A-Za-z0-9_.\-]{1,80}")


class VersionNotFound(StateMachineNotFound):
    """An alias names a published version the machine does not have."""


@dataclass(frozen=True)
class Chosen:
    """The published version an execution through an alias runs."""

    alias: str
    published: int


def check_alias_name(name: str) -> str:
    if _ALIAS_NAME.fullmatch(name) is None:
        raise InvalidRequest(
            f"Invalid Name: '{name}' (an alias name is 1-80 letters, digits, '-', '_' or '.', "
            "and not only digits)",
            [{"location": "/name", "code": "InvalidName", "message": f"Invalid Name: '{name}'"}],
        )
    return name


def check_routing(routing: Routing) -> Routing:
    """One version at weight 100, or two distinct versions whose weights add up to 100."""
    problem = None
    if not 1 <= len(routing) <= 2:
        problem = "routingConfiguration must name one or two state machine versions"
    elif len({version for version, _ in routing}) != len(routing):
        problem = "routingConfiguration must not name the same version twice"
    elif any(not 0 <= weight <= 100 for _, weight in routing):
        problem = "each weight in routingConfiguration must be between 0 and 100"
    elif sum(weight for _, weight in routing) != 100:
        problem = "the weights in routingConfiguration must add up to 100"
    if problem is not None:
        raise InvalidRequest(problem, [{"location": "/routingConfiguration"}])
    return routing


async def _check_versions(session: AsyncSession, machine: str, routing: Routing) -> None:
    for published, _ in routing:
        try:
            await machines.get_state_machine(session, machine, published=published)
        except StateMachineNotFound:
            raise VersionNotFound(machine, published=published) from None


async def create(
    session: AsyncSession, machine: str, name: str, description: str | None, routing: Routing
) -> StateMachineAlias:
    check_alias_name(name)
    check_routing(routing)
    await machines.get_state_machine(session, machine)  # StateMachineNotFound
    await _check_versions(session, machine, routing)
    existing = await registry.find_alias(session, machine, name)
    if existing is not None:
        if (existing.description, existing.routes()) == (description, routing):
            return existing
        raise Conflict(f"Alias {name} of state machine {machine} already exists with another configuration")
    if await registry.count_aliases(session, machine) >= MAX_ALIASES:
        raise InvalidRequest(
            f"a state machine has at most {MAX_ALIASES} aliases",
            [{"code": "ServiceQuotaExceededException", "message": f"Aliases per machine: {MAX_ALIASES}"}],
        )
    now = utcnow()
    alias = StateMachineAlias(
        state_machine_name=machine,
        name=name,
        description=description,
        routing=registry.routing_text(routing),
        created_at=now,
        updated_at=now,
    )
    return await registry.save_alias(session, alias)


async def describe(session: AsyncSession, machine: str, name: str) -> StateMachineAlias:
    return await registry.get_alias(session, machine, name)


async def update(
    session: AsyncSession, machine: str, name: str, description: str | None, routing: Routing | None
) -> StateMachineAlias:
    """Change the description and/or the routing (at least one must be given)."""
    if description is None and routing is None:
        raise InvalidRequest(
            "Either the description or the RoutingConfiguration must be specified",
            [{"location": "/routingConfiguration"}],
        )
    alias = await registry.get_alias(session, machine, name)
    if routing is not None:
        check_routing(routing)
        await _check_versions(session, machine, routing)
        alias.routing = registry.routing_text(routing)
    if description is not None:
        alias.description = description
    alias.updated_at = utcnow()
    return await registry.save_alias(session, alias)


async def delete(session: AsyncSession, machine: str, name: str) -> None:
    if not await registry.delete_alias(session, machine, name):
        raise registry.AliasNotFound(machine, name)


async def aliases_page(
    session: AsyncSession, machine: str, limit: int, next_token: str | None, published: int | None = None
) -> tuple[list[StateMachineAlias], str | None]:
    """Aliases of ``machine`` by name (only those routing to ``published`` when given), the next token."""
    await machines.get_state_machine(session, machine, published=published)  # StateMachineNotFound
    after = str(decode_token("machine-aliases", next_token)["after"]) if next_token else None
    found: list[StateMachineAlias] = []
    while len(found) <= limit:
        rows = await registry.list_aliases(session, machine, limit + 1, after)
        found += [a for a in rows if published is None or any(v == published for v, _ in a.routes())]
        if len(rows) <= limit:
            break
        after = rows[-1].name
    token = encode_token("machine-aliases", {"after": found[limit - 1].name}) if len(found) > limit else None
    return found[:limit], token


async def check_unrouted(session: AsyncSession, machine: str, published: int) -> None:
    """Conflict when an alias routes to the published version ``published`` (it cannot be deleted)."""
    names = await registry.aliases_routing_to(session, machine, published)
    if names:
        raise Conflict(
            "Version to be deleted must not be referenced by an alias. "
            f"Current list of aliases referencing this version: [{', '.join(names)}]"
        )


def choose(alias: StateMachineAlias, draw: float | None = None) -> Chosen:
    """The version an execution through ``alias`` runs: version i with probability weight_i/100.
    ``draw`` in [0, 100) (random when None)."""
    point = random.uniform(0, 100) if draw is None else draw
    routes = alias.routes()
    for published, weight in routes:
        if point < weight:
            return Chosen(alias.name, published)
        point -= weight
    return Chosen(alias.name, next(p for p, w in reversed(routes) if w > 0))


async def resolve(session: AsyncSession, machine: str, name: str) -> Chosen:
    """Choose the version a new execution through alias ``name`` runs; AliasNotFound if none."""
    return choose(await registry.get_alias(session, machine, name))
