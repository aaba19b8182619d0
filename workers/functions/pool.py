"""The warm pool: execution environments per function version, reused while their config holds.

An invocation takes a concurrency slot, then the most recently used idle environment of its
function version (warm), or its prepared one (waiting for it if it is being started), or starts one
(cold). Environments built from an older revision of the configuration are shut down as soon as
they are idle (drain); idle ones are reaped after ``idle_seconds`` except the provisioned ones;
``close`` shuts everything down.

After a cold start of a container-image function, the pool prepares one more environment of that
version in the background (``spares.preparable``; Lambda's proactive initialization): started as
a cold start starts one, INIT done, frozen. The version's next cold start takes it; its first
invocation reports the Init Duration that INIT took. It holds no concurrency slot until then, is
kept within ``spares.MAX_PREPARED`` versions and ``spares.PREPARED_MEMORY_MB``, gives way first
under ``max_environments``, is reaped after ``prepared_idle_seconds`` unclaimed (longer than an idle
one's ``idle_seconds``: a cold start after a quiet spell still takes it), and is shut down
with the version's idle ones when its configuration changes (a new ``revision``). A deployment
(a function created, its code or configuration updated, a version published) prepares one the same
way (``prepare``), so that the version's first cold start takes it too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from statemachine import FunctionCall, FunctionResult
from workers.functions import network, staging
from workers.functions import spares as spare_rules
from workers.functions.aws_api import AwsApiAccess
from workers.functions.cgroups import CgroupDriver
from workers.functions.config import FunctionConfig
from workers.functions.environment import Environment, EnvironmentDead
from workers.functions.slots import SlotTable
from workers.mounts import Attachments

log = logging.getLogger(__name__)
AttachmentResolver = Callable[[FunctionConfig], Awaitable[Attachments]]


PoolRun = tuple[FunctionResult, list[str], bool]
"""An invocation's result (with ``init_duration_ms`` on a cold start), the lines the function wrote
meanwhile, and whether it started an environment (a cold start, even one whose INIT failed)."""


@dataclass(frozen=True, slots=True)
class _Preparing:
    """A prepared environment being started: its task, and the revision and memory size it has."""

    task: asyncio.Task[None]
    revision: str
    memory_mb: int


@dataclass(slots=True)
class _Versions:
    """The environments of one function version."""

    revision: str
    idle: list[Environment] = field(default_factory=list)
    busy: int = 0
    provisioned: int = 0
    prepared: list[Environment] = field(default_factory=list)
    """Initialised, never invoked: the next cold start's (at most one)."""


class EnvironmentPool:
    """Every environment this worker process runs."""

    def __init__(
        self,
        *,
        run_dir: Path,
        bwrap: str,
        cgroups: CgroupDriver | None,
        slots: SlotTable,
        attachments: AttachmentResolver,
        idle_seconds: float,
        max_environments: int,
        prepared_idle_seconds: float | None = None,
        unprivileged: bool = False,
        spares: int = 0,
        egress: network.Egress | None = None,
        aws_api: AwsApiAccess | None = None,
    ) -> None:
        self._run_dir = run_dir
        self._aws_api = aws_api
        """Endpoint and credentials for functions with ``aws_api`` (None: they get neither)."""
        self._bwrap = bwrap
        self._cgroups = cgroups
        self._slots = slots
        self._attachments = attachments
        self._idle_seconds = idle_seconds
        self._prepared_idle_seconds = idle_seconds if prepared_idle_seconds is None else prepared_idle_seconds
        """How long a prepared environment waits unclaimed (longer than an idle one: a cold start after
        ``idle_seconds`` takes it)."""
        self._max_environments = max_environments
        self._unprivileged = unprivileged
        self._egress = egress
        if unprivileged:
            run_dir.chmod(0o711)  # the sandbox users reach their socket directories through it
        self._versions: dict[tuple[str, str], _Versions] = {}
        self._all: set[Environment] = set()
        self._ids = itertools.count()
        self._prefix = f"{os.getpid()}-{int(time.time() * 1000) % 10**9}"
        self._reaper: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._spare_count = spares if cgroups is not None else 0
        """Generic sandboxes kept started per runtime (needs cgroups: limits are applied when claimed)."""
        self._spares: dict[str, list[Environment]] = {spare_rules.RUNTIMES[0]: []}
        """By ``spare_rules.key_of``: Python's from the start, another runtime's or an image's from this
        pool's first cold start of it (at most ``spare_rules.MAX_IMAGES`` images)."""
        self._image_claimed: dict[str, float] = {}
        """When each image with spares last had one claimed (or was added): the stalest makes room."""
        self.spares_claimed = 0
        self.prepared_claimed = 0
        """Cold starts that took a prepared environment."""
        self._preparing: dict[tuple[str, str], _Preparing] = {}
        """Prepared environments being started, by function version."""
        self._refilling: asyncio.Task[None] | None = None
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="stepline-spawn")
        """One thread spawns every sandbox (it may step into a sandbox's cgroup to do so)."""
        self._closed = False
        self._running: dict[str, int] = {}
        """Invocations in flight per function, cold starts included (concurrency in use)."""
        self._code_users: dict[Path, set[Environment]] = {}
        """The environments binding each copy of code in the run directory (``staging.code_dir``)."""

    @property
    def size(self) -> int:
        """Live environments (idle, busy or starting)."""
        return len(self._all)

    def in_use(self, name: str) -> int:
        """Invocations of function ``name`` running in this pool now (starting environments included)."""
        return self._running.get(name, 0)

    @property
    def run_dir(self) -> Path:
        """Where the environments' Runtime API sockets live."""
        return self._run_dir

    @property
    def spares(self) -> int:
        """Spare sandboxes started and waiting to be claimed."""
        return sum(len(spares) for spares in self._spares.values())

    def idle(self, name: str) -> int:
        """Idle environments of function ``name`` (all versions): warm, or provisioned."""
        return sum(len(v.idle) for key, v in self._versions.items() if key[0] == name)

    def prepared(self, name: str) -> int:
        """Prepared environments of function ``name`` (all versions) waiting for a cold start."""
        return sum(len(v.prepared) for key, v in self._versions.items() if key[0] == name)

    async def spares_ready(self) -> None:
        """Wait until the spares and prepared environments being started are up (tests and
        benchmarks start from a known state)."""
        while (self._refilling is not None and not self._refilling.done()) or self._preparing:
            if self._preparing:
                preparing = [asyncio.shield(p.task) for p in list(self._preparing.values())]
                await asyncio.gather(*preparing, return_exceptions=True)
            if self._refilling is not None:
                await asyncio.shield(self._refilling)

    def start_reaper(self) -> None:
        self._reaper = asyncio.create_task(self._reap_forever(), name="stepline-env-reaper")
        self._refill()

    async def invoke(
        self, config: FunctionConfig, call: FunctionCall, request_id: str, seconds: float
    ) -> PoolRun:
        """Run one event in an environment of ``config`` (raises TooManyRequestsError when throttled)."""
        slot = self._slots.acquire(config.name, config.reserved_concurrency)
        self._running[config.name] = self._running.get(config.name, 0) + 1
        try:
            versions = self._versions_for(config)
            env = None
            while versions.idle and env is None:
                env = versions.idle.pop()
                if not env.fresh_for(seconds):  # its credentials would expire during the invocation
                    self._close_later(env)
                    env = None
            cold = env is None
            if env is None:
                env = self._take_prepared(versions, seconds)
            if env is None and await self._joined_preparation(config):
                env = self._take_prepared(versions, seconds)
            if env is None:
                try:
                    env = await self._start(config)
                except EnvironmentDead as dead:
                    return dead.result, dead.lines, True
            versions.busy += 1
            try:
                result, lines = await env.invoke(call, request_id, seconds)
            except EnvironmentDead as dead:
                result, lines = dead.result, dead.lines
            finally:
                versions.busy -= 1
                self._give_back(config, env)
            if cold:
                result = dataclasses.replace(result, init_duration_ms=env.init_duration_ms)
                self._prepare_later(config)  # (after the invocation: not competing with it)
            return result, lines, cold
        finally:
            self._slots.release(slot)
            if (left := self._running.pop(config.name) - 1) > 0:
                self._running[config.name] = left

    def prepare(self, config: FunctionConfig) -> asyncio.Task[None] | None:
        """A deployment of ``config``'s version (Lambda's proactive initialization): prepare the
        environment its first cold start will take, in the background, unless it has environments
        already (or gets none: ``_prepare_later``). Only where there is room: a deployment never
        displaces another version's prepared environment (deploying in a loop cannot empty the pool).
        Returns the preparation under way, if there is one."""
        versions = self._versions_for(config)
        if not versions.idle and not versions.busy:
            self._prepare_later(config, displace=False)
        preparing = self._preparing.get((config.name, config.version))
        return preparing.task if preparing is not None and preparing.revision == config.revision else None

    async def provision(self, config: FunctionConfig, count: int) -> None:
        """Keep ``count`` initialised environments of this version ready (provisioned concurrency)."""
        versions = self._versions_for(config)
        versions.provisioned = count
        versions.idle.extend(versions.prepared)  # initialised already: provisioned from now on
        versions.prepared.clear()
        missing = count - len(versions.idle) - versions.busy
        starts = [self._start(config) for _ in range(max(missing, 0))]
        for env in await asyncio.gather(*starts, return_exceptions=True):
            if isinstance(env, Environment):
                self._give_back(config, env)

    async def retire(self, name: str, version: str | None = None) -> None:
        """Shut down the idle and prepared environments of a function (all versions unless one is
        named), and stop preparing any."""
        for key, preparing in list(self._preparing.items()):
            if key[0] == name and version in (None, key[1]):
                preparing.task.cancel()
                del self._preparing[key]
        for key, versions in list(self._versions.items()):
            if key[0] == name and version in (None, key[1]):
                idle, versions.idle = [*versions.idle, *versions.prepared], []
                versions.prepared = []
                versions.provisioned = 0
                await asyncio.gather(*(self._close(env) for env in idle))

    async def close(self) -> None:
        """SHUTDOWN everything (worker stop).

        Every environment is killed, its Runtime API closed, before the first ``await``: a shutdown
        that is itself cancelled still leaves no sandbox running and no socket open behind it.
        """
        self._closed = True
        self._spare_count = 0
        preparing = [p.task for p in self._preparing.values()]
        tasks = [task for task in (self._reaper, self._refilling, *preparing) if task is not None]
        for task in tasks:  # a spare being spawned is closed by its task
            task.cancel()
        spares = [env for runtime in self._spares.values() for env in runtime]
        self._spares = {}
        environments = [*spares, *self._all]
        for env in environments:
            env.kill()
        try:
            closing = [*tasks, *self._background, *(self._close(env) for env in environments)]
            for failure in await asyncio.gather(*closing, return_exceptions=True):
                if isinstance(failure, Exception):
                    log.warning("shutting an environment down failed", exc_info=failure)
        finally:
            self._versions.clear()
            self._spawner.shutdown(wait=False)

    # internals ------------------------------------------------------------------------------

    def _versions_for(self, config: FunctionConfig) -> _Versions:
        key = (config.name, config.version)
        versions = self._versions.get(key)
        if versions is None:
            versions = self._versions[key] = _Versions(config.revision)
        elif versions.revision != config.revision:
            stale, versions.idle = [*versions.idle, *versions.prepared], []
            versions.prepared = []
            versions.revision = config.revision
            for env in stale:
                self._close_later(env)
        return versions

    async def _start(self, config: FunctionConfig) -> Environment:
        if len(self._all) >= self._max_environments:
            self._evict_one()
        attachments = await self._attachments(config)
        if self._closed:  # shut down meanwhile: nothing would close a sandbox started now
            attachments.close()
            raise RuntimeError("the environment pool is shut down")
        env = self._take_spare(config, attachments)
        if env is None:
            env_id = f"{self._prefix}-{next(self._ids)}"
            env = Environment(
                config, env_id, self._run_dir, self._bwrap, self._cgroups, self._spawner, self._unprivileged,
                egress=self._egress, aws_api=self._aws_api,
            )  # fmt: skip
        self._all.add(env)
        try:
            if env.config is config:
                copy = staging.code_path(self._run_dir, config.code_dir)
                if copy != config.code_dir and config.image is None:  # (an image's root stays: ``staging``)
                    self._code_users.setdefault(copy, set()).add(env)
                await env.start(attachments)
            else:
                await env.claim(config)
        except BaseException:
            await self._close(env)
            raise
        finally:
            attachments.close()  # the descriptors the sandbox did not take (it failed before spawning)
        return env

    def _take_spare(self, config: FunctionConfig, attachments: Attachments) -> Environment | None:
        """A started spare sandbox if this function's environment can be one (then refill)."""
        if not spare_rules.fits(config, attachments):
            return None
        key = spare_rules.key_of(config)
        started = self._spares.get(key)
        if started is None:  # a first cold start of this runtime or image: keep spares of it from now on
            if self._spare_count and not self._closed:
                if config.image is not None:
                    self._make_room_for_an_image()
                    self._image_claimed[key] = time.monotonic()
                self._spares[key] = []
                self._refill()
            return None
        if config.image is not None:
            self._image_claimed[key] = time.monotonic()
        while started:
            env = started.pop(0)
            if not env.dead:
                self.spares_claimed += 1
                self._refill()
                return env
            self._close_later(env)
        self._refill()
        return None

    def _take_prepared(self, versions: _Versions, seconds: float) -> Environment | None:
        """This version's prepared environment, if it has a live one (the caller checked the revision)."""
        while versions.prepared:
            env = versions.prepared.pop()
            if not env.dead and env.fresh_for(seconds):
                self.prepared_claimed += 1
                return env
            self._close_later(env)
        return None

    async def _joined_preparation(self, config: FunctionConfig) -> bool:
        """Whether a prepared environment of ``config`` was being started and is done now: a cold start
        waits for it rather than start a second one (it is partway; its INIT runs once)."""
        preparing = self._preparing.get((config.name, config.version))
        if preparing is None or preparing.revision != config.revision:
            return False
        await asyncio.wait({preparing.task})
        return True

    def _prepare_later(self, config: FunctionConfig, *, displace: bool = True) -> None:
        """After a cold start of ``config`` (or its deployment): start, in the background, the
        environment its next cold start will take, if it gets one (``spares.preparable``) and there
        is room for it. One being started for an older revision is cancelled: it would be discarded."""
        key = (config.name, config.version)
        versions = self._versions.get(key)
        under_way = self._preparing.get(key)
        if under_way is not None and under_way.revision != config.revision:
            under_way.task.cancel()
            del self._preparing[key]
            under_way = None
        if (
            not self._spare_count
            or self._closed
            or not spare_rules.preparable(config)
            or versions is None
            or versions.revision != config.revision
            or versions.provisioned
            or versions.prepared
            or under_way is not None
            or not self._make_room_to_prepare(config, displace=displace)
        ):
            return
        task = asyncio.create_task(self._prepare(config, key), name=f"stepline-prepare-{config.name}")
        preparing = self._preparing[key] = _Preparing(task, config.revision, config.memory_mb)

        def done(_: asyncio.Task[None]) -> None:
            if self._preparing.get(key) is preparing:  # (not a later revision's)
                del self._preparing[key]

        task.add_done_callback(done)

    def _make_room_to_prepare(self, config: FunctionConfig, *, displace: bool = True) -> bool:
        """Whether a prepared environment of ``config`` may start: under ``max_environments`` (a
        prepared one never makes a used one give way), with the host's memory to spare, and within
        ``MAX_PREPARED`` and ``PREPARED_MEMORY_MB`` once the oldest prepared ones have given way
        (``displace``; else only if it fits beside them)."""
        if len(self._all) >= self._max_environments:
            return False
        available = spare_rules.host_memory_available_mb()
        if available is not None and available < config.memory_mb + spare_rules.HOST_HEADROOM_MB:
            return False
        count = len(self._preparing) + 1  # (those being started stay)
        memory = sum(p.memory_mb for p in self._preparing.values()) + config.memory_mb
        if count > spare_rules.MAX_PREPARED or memory > spare_rules.PREPARED_MEMORY_MB:
            return False
        kept = sorted(
            ((env.last_used, key, env) for key, v in self._versions.items() for env in v.prepared),
            key=lambda k: k[0],
        )
        count += len(kept)
        memory += sum(env.config.memory_mb for _, _, env in kept)
        if not displace:
            return count <= spare_rules.MAX_PREPARED and memory <= spare_rules.PREPARED_MEMORY_MB
        for _, key, env in kept:  # the oldest first
            if count <= spare_rules.MAX_PREPARED and memory <= spare_rules.PREPARED_MEMORY_MB:
                break
            self._versions[key].prepared.remove(env)
            self._close_later(env)
            count -= 1
            memory -= env.config.memory_mb
        return True

    async def _prepare(self, config: FunctionConfig, key: tuple[str, str]) -> None:
        """Start a prepared environment of ``config`` and keep it, unless the version changed or was
        given one meanwhile, or its INIT failed (then none: its next cold start shows the failure)."""
        try:
            env = await self._start(config)
        except EnvironmentDead:
            return
        except Exception:
            log.warning("could not prepare an environment of %s", config.name, exc_info=True)
            return
        versions = self._versions.get(key)
        if (
            self._closed
            or versions is None
            or versions.revision != config.revision
            or versions.prepared
            or versions.provisioned  # (provisioned meanwhile: it starts its own)
        ):
            await self._close(env)
            return
        env.last_used = time.monotonic()
        versions.prepared.append(env)

    def _make_room_for_an_image(self) -> None:
        """At ``spare_rules.MAX_IMAGES`` images with spares, the one least recently claimed from
        loses its spares (a function moved to another image leaves none behind for long)."""
        images = [k for k in self._spares if k.startswith(spare_rules.IMAGE_PREFIX)]
        if len(images) < spare_rules.MAX_IMAGES:
            return
        stalest = min(images, key=lambda k: self._image_claimed.get(k, 0.0))
        self._image_claimed.pop(stalest, None)
        for env in self._spares.pop(stalest):
            self._close_later(env)

    def _refill(self) -> None:
        """Start spares in the background, off the invoke path, up to the configured number."""
        if not self._closed and (self._refilling is None or self._refilling.done()):
            self._refilling = asyncio.create_task(self._refill_spares(), name="stepline-spares")

    async def _refill_spares(self) -> None:
        """Start spares until every runtime has its number (one added meanwhile too); a failed
        start ends the refill until the next claim."""
        done: set[str] = set()
        while todo := [runtime for runtime in self._spares if runtime not in done]:
            for runtime in todo:
                done.add(runtime)
                spares = self._spares.get(runtime)
                if spares is not None and not await self._refill_runtime(runtime, spares):
                    return

    async def _refill_runtime(self, runtime: str, spares: list[Environment]) -> bool:
        """Start spares of ``runtime`` up to the number; False if one failed to start."""
        while len(spares) < self._spare_count:
            env_id = f"{self._prefix}-{next(self._ids)}"
            config = spare_rules.spare_config(runtime)
            if config.image is None:
                config = dataclasses.replace(config, code_dir=self._run_dir / f"{env_id}.task")
            env = Environment(
                config, env_id, self._run_dir, self._bwrap, self._cgroups, self._spawner, self._unprivileged,
                aws_api=self._aws_api,
            )  # fmt: skip
            try:
                await env.start_spare()
            except Exception:
                log.warning("could not start a spare %s sandbox", runtime, exc_info=True)
                await env.close()
                return False
            except BaseException:
                await env.close()
                raise
            if self._spares.get(runtime) is not spares:  # (an image's spares dropped meanwhile)
                await env.close()
                return True
            spares.append(env)
        return True

    def _give_back(self, config: FunctionConfig, env: Environment) -> None:
        versions = self._versions.get((config.name, config.version))
        if env.dead or versions is None or versions.revision != config.revision:
            self._close_later(env)
        else:
            versions.idle.append(env)

    def _evict_one(self) -> None:
        """Make room under the per-process cap by shutting down the oldest prepared environment, else
        the least recently used idle one."""
        for kind in ("prepared", "idle"):
            candidates = [
                (env.last_used, v, env) for v in self._versions.values() for env in getattr(v, kind)
            ]
            if candidates:
                _, versions, env = min(candidates, key=lambda c: c[0])
                getattr(versions, kind).remove(env)
                self._close_later(env)
                return

    def _close_later(self, env: Environment) -> None:
        task = asyncio.create_task(self._close(env))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _close(self, env: Environment) -> None:
        self._all.discard(env)
        await env.close()
        for copy, users in list(self._code_users.items()):  # its code's copy goes with the last user
            users.discard(env)
            if not users and self._code_users.pop(copy, None) is not None:  # (not a concurrent close's)
                trash = staging.discard(copy)
                if trash is not None:
                    await asyncio.to_thread(shutil.rmtree, trash, ignore_errors=True)

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self._idle_seconds))
            now = time.monotonic()
            for versions in self._versions.values():
                keep = max(versions.provisioned - versions.busy, 0)
                idle = sorted(versions.idle, key=lambda e: e.last_used, reverse=True)
                stale = [e for e in idle[keep:] if now - e.last_used > self._idle_seconds]
                for env in stale:
                    versions.idle.remove(env)
                    self._close_later(env)
                for env in [e for e in versions.prepared if now - e.last_used > self._prepared_idle_seconds]:
                    versions.prepared.remove(env)
                    self._close_later(env)
