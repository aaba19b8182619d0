"""Which configuration an invocation runs with: ``name[:qualifier]`` resolved through the registry, cached.

The hot path (a warm invocation) touches no database: configurations are cached for
``cache_seconds`` (0: not cached) and dropped at once by ``forget`` when this process changes
them; an expired entry keeps serving for up to ``stale_seconds`` while one background lookup
refreshes it, and concurrent misses share one lookup, so however many invocations are in flight,
resolving needs at most one registry connection per function.

A qualifier is ``$LATEST``, a version number or an alias; an alias with ``RoutingConfig`` resolves
to one of its two versions per invocation, drawn by weight (the chosen version is the invocation's
``ExecutedVersion``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from pathlib import Path

from foundation.registry import aliases
from foundation.registry import functions as registry
from foundation.registry.database import SessionMaker
from statemachine import function_arn
from workers.functions.codestore import CodeStore
from workers.functions.config import FunctionConfig
from workers.functions.errors import ResourceNotFoundError, ServiceError
from workers.functions.images.run import ImageRun
from workers.functions.images.store import ImageStore

log = logging.getLogger(__name__)
Targets = tuple[tuple[FunctionConfig, float], ...]
"""What a qualifier runs: configurations with their cumulative weights (the last one 1.0)."""


class ConfigResolver:
    """Function configurations by (name, qualifier), from the registry through a short cache."""

    def __init__(
        self,
        sessions: SessionMaker,
        code: CodeStore,
        region: str,
        *,
        cache_seconds: float,
        stale_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._code = code
        self._region = region
        self._images = ImageStore.beside(code)
        self._cache_seconds = cache_seconds
        self._stale_seconds = stale_seconds
        self._cache: dict[tuple[str, str], tuple[Targets, float]] = {}
        """(name, qualifier) -> (what it runs, fresh until (monotonic))."""
        self._lookups: dict[tuple[str, str], asyncio.Future[Targets]] = {}
        """Registry lookups in flight, shared by every caller that needs the same key."""
        self._forgotten: dict[str, int] = {}
        """Per function, bumped by ``forget``: a lookup started before it must not fill the cache."""

    async def resolve(self, name: str, qualifier: str | None) -> FunctionConfig:
        """The runnable configuration of ``name[:qualifier]``: from the cache while fresh; stale for
        up to ``stale_seconds`` while a background lookup refreshes it; else one shared lookup
        (raises ``ResourceNotFoundError``, or ``ServiceError`` when its code is missing)."""
        key = (name, qualifier or registry.LATEST)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None:
            targets, fresh_until = cached
            if fresh_until > now:
                return _pick(targets)
            if fresh_until + self._stale_seconds > now:
                self._lookup(key)  # refreshed behind this invocation
                return _pick(targets)
        return _pick(await asyncio.shield(self._lookup(key)))

    def forget(self, name: str) -> None:
        """Drop the cached configuration of ``name``: the next invocation looks it up afresh."""
        self._forgotten[name] = self._forgotten.get(name, 0) + 1
        for key in [k for k in self._cache if k[0] == name]:
            del self._cache[key]
        for key in [k for k in self._lookups if k[0] == name]:
            del self._lookups[key]  # callers from now on look up afresh

    def config_of(self, found: registry.ResolvedFunction) -> FunctionConfig:
        """The runnable configuration of a registry row (its code must be in the code store)."""
        s = found.settings
        image = self._image(found) if s.package_type == "Image" else None
        code_dir = self._images.rootfs(f"sha256:{s.code_sha256}") if image else self._code.path(s.code_sha256)
        if not code_dir.is_dir():
            raise ServiceError(
                f"the code of {found.name} ({s.code_sha256}) is missing from {self._code.root}"
            )
        return FunctionConfig(
            name=found.name, runtime=s.runtime, handler=s.handler, code_dir=code_dir, version=found.version,
            memory_mb=s.memory_size, timeout_seconds=float(s.timeout), environment=dict(s.environment),
            tmp_mb=s.ephemeral_storage, network=s.network, aws_api=s.aws_api,
            file_system_configs=tuple(s.file_system_configs),
            db_proxies=tuple(s.db_proxies), reserved_concurrency=found.reserved_concurrency,
            provisioned_concurrency=found.provisioned_concurrency, region=self._region,
            layer_dirs=self._layer_dirs(found), image=image,
        )  # fmt: skip

    def _image(self, found: registry.ResolvedFunction) -> ImageRun:
        """What an image function runs: its image's configuration with its ImageConfig overrides."""
        try:
            return self._images.image_run(f"sha256:{found.settings.code_sha256}", found.settings.image_config)
        except (OSError, ValueError, KeyError) as exc:
            raise ServiceError(
                f"the image of {found.name} cannot be read from {self._images.root}: {exc}"
            ) from None

    def _layer_dirs(self, found: registry.ResolvedFunction) -> tuple[Path, ...]:
        """The function's layers' stored directories, in order (a deleted layer version's stay)."""
        dirs = tuple(self._code.path(layer["sha256"]) for layer in found.settings.layers)
        for layer, path in zip(found.settings.layers, dirs, strict=True):
            if not path.is_dir():
                raise ServiceError(f"layer {layer['arn']} of {found.name} is missing from {self._code.root}")
        return dirs

    async def close(self) -> None:
        """Cancel the lookups in flight (the runtime is stopping)."""
        lookups = list(self._lookups.values())
        for lookup in lookups:
            lookup.cancel()
        await asyncio.gather(*lookups, return_exceptions=True)

    def _lookup(self, key: tuple[str, str]) -> asyncio.Future[Targets]:
        """The registry lookup of ``key``, started unless one is already running."""
        running = self._lookups.get(key)
        if running is not None:
            return running
        task = asyncio.ensure_future(self._fetch(key))
        self._lookups[key] = task
        task.add_done_callback(_consume)
        task.add_done_callback(lambda _: self._lookups.pop(key) if self._lookups.get(key) is task else None)
        return task

    async def _fetch(self, key: tuple[str, str]) -> Targets:
        name, qualifier = key
        generation = self._forgotten.get(name, 0)
        try:
            async with self._sessions() as session:
                found = await aliases.resolve_targets(session, name, qualifier)
        except registry.FunctionNotFound as exc:
            self._cache.pop(key, None)
            raise ResourceNotFoundError(
                f"Function not found: {function_arn(name, qualifier, self._region)}"
            ) from exc
        targets, upto = [], 0.0
        for resolved, weight in found:
            upto += weight
            targets.append((self.config_of(resolved), upto))
        targets[-1] = (targets[-1][0], 1.0)
        if self._cache_seconds > 0 and generation == self._forgotten.get(name, 0):  # no ``forget`` since
            self._cache[key] = (tuple(targets), time.monotonic() + self._cache_seconds)
        return tuple(targets)


def _pick(targets: Targets) -> FunctionConfig:
    """One configuration, drawn by weight (the only one, without routing)."""
    if len(targets) == 1:
        return targets[0][0]
    draw = random.random()
    return next((config for config, upto in targets if draw < upto), targets[-1][0])


def _consume(task: asyncio.Future[Targets]) -> None:
    """Retrieve a background refresh's failure (a later call will see it again) so none goes unlogged."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("refreshing a function configuration failed: %s", task.exception())
