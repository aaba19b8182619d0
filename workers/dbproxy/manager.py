"""The proxies running in this process, started on first use and kept in step with the registry.

Each process (API, worker) serves its own sockets under its own directory, so several processes on
one machine never fight over a socket; each one's pool is capped at the proxy's pool size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from workers.dbproxy.pool import PoolConfig, PoolStats
from workers.dbproxy.proxy import Proxy
from workers.dbproxy.server import Target
from workers.dbproxy.slots import process_secret

log = logging.getLogger(__name__)

MAX_ROOT_LENGTH = 60
"""Socket roots longer than this fall back to the temporary directory (Unix socket path limit)."""


@dataclass(frozen=True, slots=True)
class ProxySpec:
    """A proxy as registered; ``target_url`` is the opened (decrypted) URL."""

    name: str
    target_url: str = field(repr=False)
    pool_size: int = 10
    borrow_timeout: float = 5.0
    idle_timeout: float = 300.0
    slot_secret: bytes = field(default_factory=process_secret, repr=False)
    """The deployment's key for slot locks (``Sealer.derive(SLOT_KEY_PURPOSE)``)."""

    def pool_config(self) -> PoolConfig:
        return PoolConfig(
            name=self.name,
            target=Target.from_url(self.target_url),
            size=self.pool_size,
            borrow_timeout=self.borrow_timeout,
            idle_timeout=self.idle_timeout,
            slot_secret=self.slot_secret,
        )


Loader = Callable[[str], Awaitable[ProxySpec]]
"""Looks a proxy up by name; raises the registry's not-found error when it is gone."""


def socket_root(data_dir: Path) -> Path:
    """This process's socket directory: under ``data_dir`` when short enough, else under /tmp."""
    root = data_dir.resolve() / "run" / f"db-{os.getpid()}"
    if len(str(root)) > MAX_ROOT_LENGTH:
        root = Path(tempfile.gettempdir()) / f"stepline-db-{os.getuid()}" / str(os.getpid())
    return root


def remove_stale_roots(parent: Path) -> None:
    """Delete socket directories left by processes that no longer exist."""
    if not parent.is_dir():
        return
    for child in parent.iterdir():
        pid = child.name.removeprefix("db-")
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(child, ignore_errors=True)


class ProxyManager:
    """Starts a proxy on first ``ensure``; ``sync`` stops those deleted from the registry and
    reconfigures those changed (clients stay connected)."""

    def __init__(self, root: Path, load: Loader) -> None:
        self.root = root
        self._load = load
        self._running: dict[str, tuple[ProxySpec, Proxy]] = {}
        self._allowed: dict[str, set[int]] = {}
        """Sandbox uids let in per proxy; kept across restarts so warm sandboxes stay connected."""
        self._lock = asyncio.Lock()
        self._housekeeper: asyncio.Task[None] | None = None

    def directory(self, name: str) -> Path:
        return self.root / name

    async def ensure(self, name: str, allow_uid: int | None = None) -> Proxy:
        """The running proxy ``name``, started (or restarted with new settings) as needed;
        ``allow_uid`` is a host user (a sandbox's) that may connect from now on.

        A running proxy is returned without a registry query: every environment start comes here,
        and housekeeping (``sync``) already makes running proxies follow registry changes.
        """
        allowed = self._allowed.setdefault(name, set())
        if allow_uid is not None:
            allowed.add(allow_uid)
        async with self._lock:  # one registry query when many environments start at once
            running = self._running.get(name)
            if running is not None:
                running[1].allowed_uids |= allowed
                return running[1]
            spec = await self._load(name)
            for directory in (self.root.parent, self.root):  # sandbox users must traverse them
                directory.mkdir(parents=True, exist_ok=True)
                directory.chmod(0o711)  # searched, never listed
            proxy = Proxy(spec.pool_config(), self.directory(name), allowed)
            await proxy.start()
            self._running[name] = (spec, proxy)
            log.info("db proxy %s: serving %s (pool %d)", name, proxy.directory, spec.pool_size)
            return proxy

    def stats(self) -> dict[str, PoolStats]:
        return {name: proxy.pool.stats() for name, (_, proxy) in self._running.items()}

    async def sync(self) -> None:
        """Stop proxies deleted from the registry; those whose settings changed follow them in place."""
        for name in list(self._running):
            try:
                spec = await self._load(name)
            except LookupError:
                spec = None
            except Exception as exc:  # the registry is unreachable: keep serving what runs
                log.warning("db proxy %s: cannot check the registry: %s", name, exc)
                continue
            async with self._lock:
                running = self._running.get(name)
                if running is None or running[0] == spec:
                    continue
                if spec is None:
                    await running[1].close()
                    del self._running[name]
                    continue
                running[1].reconfigure(spec.pool_config())
                self._running[name] = (spec, running[1])
                log.info("db proxy %s: settings changed (pool %d)", name, spec.pool_size)

    def start_housekeeping(self, sync_every: float = 10.0) -> None:
        """Close idle connections each second and re-check the registry every ``sync_every`` s."""

        async def loop() -> None:
            ticks = 0
            while True:
                await asyncio.sleep(1.0)
                for _, proxy in list(self._running.values()):
                    proxy.pool.close_idle(proxy.config.idle_timeout)
                ticks += 1
                if ticks * 1.0 >= sync_every:
                    ticks = 0
                    await self.sync()

        self._housekeeper = asyncio.get_running_loop().create_task(loop())

    async def close(self) -> None:
        if self._housekeeper is not None:
            self._housekeeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeper
        async with self._lock:
            for _, proxy in self._running.values():
                await proxy.close()
            self._running.clear()
        shutil.rmtree(self.root, ignore_errors=True)
