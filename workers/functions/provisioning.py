"""Provisioned concurrency: keep the initialised environments the registry asks for, within the cap.

Every ``provision_check_seconds`` (and at once after a change made through this process) one round
reads what the registry grants and brings the pool in line: a change made through another process
(or a function's new code) reaches this one, and a function whose provisioned concurrency went to 0
(or that was deleted) gives its environments up to idle reaping.

Keys are ``name`` (``$LATEST``) or ``name:version`` (the version an alias with provisioned
concurrency points at; an alias moved to another version leaves the old one to idle reaping).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import DBAPIError

from foundation.registry import aliases
from foundation.registry import functions as registry
from foundation.registry.database import SessionMaker
from workers.functions.errors import InvokeError, ResourceNotFoundError
from workers.functions.pool import EnvironmentPool
from workers.functions.resolver import ConfigResolver

log = logging.getLogger(__name__)


class Provisioner:
    """Starts (and gives up) provisioned environments, one round at a time."""

    def __init__(
        self, sessions: SessionMaker, resolver: ConfigResolver, pool: EnvironmentPool, *,
        max_environments: int, check_seconds: float,
    ) -> None:  # fmt: skip
        self._sessions = sessions
        self._resolver = resolver
        self._pool = pool
        self._max_environments = max_environments
        self._check_seconds = check_seconds
        self._lock = asyncio.Lock()
        self._granted: dict[str, int] = {}
        """Provisioned environments granted to each function by the last round."""

    async def keep(self) -> None:
        """Run a round at start and then every ``check_seconds``, until cancelled."""
        while True:
            try:
                await self.round()
            except (OSError, DBAPIError) as exc:
                log.warning("cannot read provisioned concurrency: %s", exc)
            await asyncio.sleep(self._check_seconds)

    async def round(self) -> None:
        """One round at a time: two at once would each start the environments the other is starting."""
        async with self._lock:
            self._granted = await self._provision_all(self._granted)

    async def _provision_all(self, before: dict[str, int]) -> dict[str, int]:
        """Start what the registry asks for, within ``registry.provisioned_budget`` of this runtime's
        cap even when the registry asks for more (rows written by an older version, or by requests
        that raced); returns the environments granted to each function."""
        async with self._sessions() as session:
            wanted = {
                f.name: f.provisioned_concurrency
                for f in await registry.list_functions(session, 10_000)
                if f.provisioned_concurrency
            }
            for alias in await aliases.provisioned_aliases(session):
                key = f"{alias.function_name}:{alias.function_version}"
                wanted[key] = wanted.get(key, 0) + alias.provisioned_concurrency
        granted = within_budget(wanted, registry.provisioned_budget(self._max_environments))
        for name in sorted(wanted.keys() | before.keys()):
            if granted.get(name, 0) < wanted.get(name, 0) and before.get(name) != granted.get(name, 0):
                log.warning(
                    "provisioned concurrency of %s: %d of %d started, to stay within %d environments",
                    name, granted.get(name, 0), wanted[name], self._max_environments,
                )  # fmt: skip
            function, _, version = name.partition(":")
            try:
                config = await self._resolver.resolve(function, version or None)
                await self._pool.provision(config, granted.get(name, 0))
            except ResourceNotFoundError:
                await self._pool.retire(function, version or None)
            except InvokeError as exc:
                log.warning("provisioned concurrency of %s not started: %s", name, exc)
        return granted


def within_budget(wanted: dict[str, int], budget: int) -> dict[str, int]:
    """Provisioned environments per function, in name order until ``budget`` is spent: the same
    grants in every process, whatever the registry holds."""
    granted: dict[str, int] = {}
    for name in sorted(wanted):
        granted[name] = min(wanted[name], budget)
        budget -= granted[name]
    return granted
