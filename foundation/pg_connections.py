"""Direct asyncpg connections (LISTEN, outboxes): closing one so that it is never left open."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def close_or_terminate(connection: Any, seconds: float = 2.0) -> None:
    """Close ``connection`` politely; terminate it if that fails, takes over ``seconds``, or
    is cancelled (the process stopping: a connection left open would be closed by nobody, and its
    garbage collection warns)."""
    try:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), seconds)
    finally:
        if not connection.is_closed():
            connection.terminate()
