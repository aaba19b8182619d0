"""Fail-fast gathering for branches, iterations and offloaded chunks (cancellation propagates)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any


async def all_or_first_error(coroutines: Sequence[Awaitable[Any]]) -> list[Any]:
    """Await all; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        await cancel(tasks)
        raise
    failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
    if failed:
        await cancel(tasks)
        raise failed[0].exception()  # type: ignore[misc]
    return [task.result() for task in tasks]


async def cancel(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Cancel the unfinished tasks and wait until they have unwound."""
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
