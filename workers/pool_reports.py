"""Reports this process's db proxy pools to the registry every few seconds (``db_proxy_pool_report``),
so the API shows every pool of a proxy, wherever it runs. Off every request's path: it reads the pools'
counters (``ProxyManager.stats``) and writes one upsert per report; its rows go when it stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from datetime import UTC, datetime
from types import TracebackType

from foundation.registry.database import SessionMaker, unit_of_work
from foundation.registry.pool_reports import DbProxyPoolReport, report
from workers.attachments import running_proxies

log = logging.getLogger(__name__)

PROCESS = f"{socket.gethostname()}:{os.getpid()}"[:200]
"""How this process names itself in the reports."""


def current_pools(now: datetime) -> list[DbProxyPoolReport]:
    """This process's pools as report rows (none outside ``serve_attachments``)."""
    manager = running_proxies()
    if manager is None:
        return []
    return [
        DbProxyPoolReport(
            proxy_name=name, process=PROCESS, size=s.size, open=s.open, busy=s.busy, idle=s.idle,
            waiters=s.waiting, borrows=s.borrows, borrow_timeouts=s.borrow_timeouts, reported_at=now,
        )
        for name, s in sorted(manager.stats().items())
    ]  # fmt: skip


class PoolReporter:
    """``async with PoolReporter(sessions):`` reports every ``every`` seconds while the block runs."""

    def __init__(self, sessions: SessionMaker, every: float = 5.0) -> None:
        self._sessions = sessions
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def report_now(self, pools: list[DbProxyPoolReport] | None = None) -> None:
        pools = current_pools(datetime.now(UTC)) if pools is None else pools
        async with unit_of_work(self._sessions) as session:
            await report(session, PROCESS, pools)

    async def _run(self) -> None:
        while True:
            try:
                await self.report_now()
            except Exception as exc:  # the database is away: the next report catches up
                log.warning("could not report db proxy pools: %s", exc)
            await asyncio.sleep(self._every)

    async def __aenter__(self) -> PoolReporter:
        self._task = asyncio.create_task(self._run(), name="stepline-pool-reports")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.report_now([])  # this process's pools are gone
