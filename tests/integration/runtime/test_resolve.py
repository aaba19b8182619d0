"""Resolving functions on the hot path: cached, refreshed behind invocations, one lookup at a time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from tests.integration.function_kit import deploy, fn_settings, unique
from workers.functions.errors import ResourceNotFoundError
from workers.functions.service import FunctionService

__all__ = ["fn_settings"]
CODE = {"app.py": "def handler(event, context):\n    return event\n"}


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The registry lookups the runtime makes (counted; the real query still runs)."""
    seen: list[str] = []
    real = registry.resolve_function

    async def counting(session: Any, name: str, qualifier: str | None) -> registry.ResolvedFunction:
        seen.append(name)
        return await real(session, name, qualifier)

    monkeypatch.setattr(registry, "resolve_function", counting)
    return seen


async def set_timeout(svc: FunctionService, name: str, seconds: int) -> None:
    """A change made by another process (no ``forget`` here)."""
    async with unit_of_work(svc.sessions) as session:
        await registry.update_function(session, name, {"timeout": seconds})


async def test_concurrent_misses_share_one_lookup(fn_settings: Settings, lookups: list[str]) -> None:
    async with FunctionService(fn_settings, config_cache_seconds=60.0) as svc:
        name = await deploy(svc, unique("herd"), CODE)
        misses = [asyncio.ensure_future(svc.resolve(name, None)) for _ in range(250)]
        await asyncio.sleep(0)  # the lookup has started
        await svc.forget(unique("other"))  # another function's change leaves this lookup's result cached
        configs = await asyncio.gather(*misses)
        assert lookups.count(name) == 1  # (other tests' functions may be provisioned at start)
        assert {c.name for c in configs} == {name}
        await svc.resolve(name, None)
        assert lookups.count(name) == 1  # cached


async def test_expired_entries_serve_while_one_lookup_refreshes_them(
    fn_settings: Settings, lookups: list[str]
) -> None:
    async with FunctionService(fn_settings, config_cache_seconds=0.05, stale_seconds=30.0) as svc:
        name = await deploy(svc, unique("stale"), CODE, timeout=3)
        assert (await svc.resolve(name, None)).timeout_seconds == 3
        await set_timeout(svc, name, 7)
        await asyncio.sleep(0.1)
        stale = await asyncio.gather(*(svc.resolve(name, None) for _ in range(50)))
        assert {c.timeout_seconds for c in stale} == {3}  # answered at once, from the cache
        for _ in range(100):
            if (await svc.resolve(name, None)).timeout_seconds == 7:
                break
            await asyncio.sleep(0.01)
        assert (await svc.resolve(name, None)).timeout_seconds == 7
        assert lookups.count(name) == 2  # the first miss and a single refresh


async def test_a_function_deleted_elsewhere_stops_resolving_after_the_refresh(fn_settings: Settings) -> None:
    async with FunctionService(fn_settings, config_cache_seconds=0.05) as svc:
        name = await deploy(svc, unique("gone"), CODE)
        await svc.resolve(name, None)
        async with unit_of_work(svc.sessions) as session:
            await registry.delete_function(session, name)
        await asyncio.sleep(0.1)
        await svc.resolve(name, None)  # stale, and starts the refresh that finds it gone
        await asyncio.sleep(0.2)
        with pytest.raises(ResourceNotFoundError, match=name):
            await svc.resolve(name, None)


async def test_forget_wins_over_a_lookup_in_flight(fn_settings: Settings) -> None:
    async with FunctionService(fn_settings, config_cache_seconds=60.0) as svc:
        name = await deploy(svc, unique("forget"), CODE, timeout=3)
        before = asyncio.ensure_future(svc.resolve(name, None))
        await asyncio.sleep(0)  # the lookup has started
        await set_timeout(svc, name, 9)
        await svc.forget(name)
        await before
        assert (await svc.resolve(name, None)).timeout_seconds == 9
