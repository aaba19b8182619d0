"""A function that floods its own Runtime API socket with connections cannot exhaust the worker's file
descriptors, stall other invocations or flood the worker's log (real sandboxes, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import time

import pytest

from tests.integration.function_kit import body, call, deploy, fn_settings, requires_bwrap, service, unique
from workers.functions.runtime_api import MAX_CONNECTIONS
from workers.functions.service import FunctionService

__all__ = ["fn_settings", "service"]
pytestmark = [requires_bwrap]

FLOOD = """
import errno, resource, socket, time
def handler(event, context):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held, refused = [], 0
    deadline = time.time() + event["seconds"]
    while len(held) < event["count"] and time.time() < deadline:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect("/run/lambda/runtime.sock")
            held.append(sock)
        except OSError as exc:
            sock.close()
            refused += 1
            if exc.errno == errno.EMFILE:
                break
    time.sleep(event["hold"])
    count = len(held)
    for sock in held:
        sock.close()
    return {"held": count, "refused": refused}
"""
VICTIM = "def handler(event, context):\n    return event\n"


def open_descriptors() -> int:
    """This process's open sockets (other descriptors, e.g. the slot table's lock files, come and go)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += stat.S_ISSOCK(os.stat(f"/proc/self/fd/{fd}").st_mode)
    return count


async def test_20000_connections_to_the_runtime_api_are_capped(
    service: FunctionService, caplog: pytest.LogCaptureFixture
) -> None:
    flood = await deploy(service, unique("flood"), {"app.py": FLOOD}, timeout=60)
    victim = await deploy(service, unique("victim"), {"app.py": VICTIM})
    assert body(await call(service, victim, {"warm": True})) == {"warm": True}
    assert body(await call(service, flood, {"count": 1, "seconds": 1, "hold": 0}))["held"] == 1  # warm
    await service.pool.spares_ready()
    baseline = open_descriptors()
    caplog.set_level(logging.INFO)
    attack = asyncio.ensure_future(call(service, flood, {"count": 20_000, "seconds": 8, "hold": 4}))
    peak, answered, slowest = baseline, 0, 0.0
    while not attack.done():
        peak = max(peak, open_descriptors())
        started = time.perf_counter()
        result = await call(service, victim, {"i": answered})
        slowest = max(slowest, time.perf_counter() - started)
        assert body(result) == {"i": answered}, result.payload
        answered += 1
        await asyncio.sleep(0.05)
    outcome = await attack
    assert outcome.function_error is None, outcome.payload
    found = body(outcome)
    assert found["refused"] > 0  # the flood was turned away at the socket
    assert peak - baseline < 4 * MAX_CONNECTIONS, f"the worker held {peak - baseline} more descriptors"
    assert answered > 10 and slowest < 1.0, (answered, slowest)
    noisy = [r for r in caplog.records if "accept" in r.getMessage().lower()]
    assert len(noisy) <= 3, [r.getMessage() for r in noisy[:5]]
    for _ in range(50):  # what the flood left open is released once its connections close
        if open_descriptors() - baseline < MAX_CONNECTIONS:
            break
        await asyncio.sleep(0.1)
    assert open_descriptors() - baseline < MAX_CONNECTIONS
    assert body(await call(service, flood, {"count": 1, "seconds": 1, "hold": 0}))["held"] == 1  # still runs
