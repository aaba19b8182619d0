"""The Lambda Telemetry API (2022-07-01) for one environment: subscriptions and their batches.

An extension subscribes (``PUT /2022-07-01/telemetry`` with its ``Lambda-Extension-Identifier``) to
``platform``, ``function`` and/or ``extension`` events, with buffering (``maxItems``, ``maxBytes``,
``timeoutMs``, Lambda's bounds) and an HTTP destination inside the sandbox
(``http://sandbox.localdomain:PORT/...``). The worker cannot reach into the sandbox's network
namespace, so the sandbox's launcher fetches each due batch over the Runtime API's socket
(``GET /2022-07-01/telemetry/stepline-next``, a long poll) and POSTs it to the destination. Events
recorded before the first subscription (INIT's) are kept, bounded, and given to each new subscriber,
as Lambda buffers them. Every queue is bounded by its ``maxItems``/``maxBytes`` and by ``MAX_QUEUED``:
an extension that never reads its events costs the worker a bounded amount of memory.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

PATH = "/2022-07-01/telemetry"
PUMP_PATH = f"{PATH}/stepline-next"
"""Stepline's own: the launcher's long poll for the next due batch."""
LOG_PATH = f"{PATH}/stepline-extension-log"
"""Stepline's own: the launcher sends what an extension wrote (a JSON list of lines)."""
TYPES = frozenset({"platform", "function", "extension"})
BOUNDS = {
    "maxItems": (1000, 10000, 1000), "maxBytes": (262144, 1048576, 262144), "timeoutMs": (25, 30000, 1000),
}  # fmt: skip
"""Lambda's buffering bounds and defaults: (least, most, default)."""
MAX_QUEUED = 10000
MAX_QUEUED_BYTES = 8 * 1024 * 1024
"""A subscriber's queue holds at most this many events and bytes; later events are dropped."""
BACKLOG = 1000
"""Events kept for subscribers yet to come (INIT's)."""


class Replier(Protocol):
    def reply(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        """Write one HTTP response."""


def _bad(message: str) -> tuple[int, bytes]:
    return 400, json.dumps({"errorType": "ValidationError", "errorMessage": message}).encode()


@dataclass(slots=True)
class Subscription:
    types: frozenset[str]
    max_items: int
    max_bytes: int
    timeout_ms: int
    uri: str
    queue: deque[tuple[dict[str, Any], int]] = field(default_factory=deque)
    size: int = 0
    first_at: float = 0.0
    """When the oldest queued event came (monotonic)."""
    dropped: int = 0


def parse_subscription(body: bytes) -> Subscription | tuple[int, bytes]:
    """A subscription request's body, or the 400 that names what is wrong in it."""
    try:
        doc = json.loads(body or b"null")
    except ValueError:
        return _bad("The body is not JSON")
    if not isinstance(doc, dict):
        return _bad("The body must be a JSON object")
    types = doc.get("types")
    if not isinstance(types, list) or not types or not all(t in TYPES for t in types):
        return _bad("types must be a non-empty list of platform, function, extension")
    buffering = doc.get("buffering", {})
    if not isinstance(buffering, dict):
        return _bad("buffering must be an object")
    values: dict[str, int] = {}
    for key, (least, most, default) in BOUNDS.items():
        value = buffering.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
            return _bad(f"buffering.{key} must be an integer from {least} to {most}")
        values[key] = value
    destination = doc.get("destination")
    uri = destination.get("URI") if isinstance(destination, dict) else None
    if not isinstance(destination, dict) or destination.get("protocol") != "HTTP" or not isinstance(uri, str):
        return _bad('destination must be {"protocol": "HTTP", "URI": "http://sandbox.localdomain:PORT/..."}')
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname != "sandbox.localdomain" or not parts.port:
        return _bad("destination.URI must be http://sandbox.localdomain:PORT/... (inside the sandbox)")
    return Subscription(frozenset(types), values["maxItems"], values["maxBytes"], values["timeoutMs"], uri)


class Telemetry:
    """One environment's subscriptions, and the launcher's pending fetch."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, Subscription] = {}
        self._backlog: deque[tuple[dict[str, Any], int]] = deque(maxlen=BACKLOG)
        self._pump: Replier | None = None
        self._timer: asyncio.TimerHandle | None = None

    def subscribe(self, identifier: str, body: bytes) -> tuple[int, bytes]:
        parsed = parse_subscription(body)
        if isinstance(parsed, tuple):
            return parsed
        fresh = identifier not in self._subscriptions
        self._subscriptions[identifier] = parsed
        if fresh:
            for event, size in self._backlog:
                self._queue(parsed, event, size)
        self._deliver()
        return 200, b'"OK"'

    def record(self, kind: str, record: Any) -> None:
        """One event: ``kind`` is ``platform.start`` and the like, or ``function`` / ``extension``."""
        event = {"time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                 "type": kind, "record": record}  # fmt: skip
        size = len(json.dumps(event))
        group = kind.partition(".")[0]
        if group == "platform":
            self._backlog.append((event, size))
        for subscription in self._subscriptions.values():
            if group in subscription.types:
                self._queue(subscription, event, size)
        self._deliver()

    @staticmethod
    def _queue(subscription: Subscription, event: dict[str, Any], size: int) -> None:
        if len(subscription.queue) >= MAX_QUEUED or subscription.size + size > MAX_QUEUED_BYTES:
            subscription.dropped += 1
            return
        if not subscription.queue:
            subscription.first_at = time.monotonic()
        subscription.queue.append((event, size))
        subscription.size += size

    def fetch(self, conn: Replier) -> None:
        """The launcher asks for the next due batch: now, or when one is due."""
        self._pump = conn
        self._deliver()

    def _due(self, subscription: Subscription, now: float) -> bool:
        return bool(subscription.queue) and (
            len(subscription.queue) >= subscription.max_items
            or subscription.size >= subscription.max_bytes
            or (now - subscription.first_at) * 1000 >= subscription.timeout_ms
        )

    def _deliver(self) -> None:
        """Send a due batch to the waiting launcher, else make sure a timer runs for the next one
        (one timer at a time: a burst of events does not make one each)."""
        if self._pump is None:
            return
        now = time.monotonic()
        for subscription in self._subscriptions.values():
            if self._due(subscription, now):
                self._send(subscription)
                return
        waits = [s.first_at + s.timeout_ms / 1000 - now for s in self._subscriptions.values() if s.queue]
        if waits and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(max(min(waits), 0.0), self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        self._deliver()

    def _send(self, subscription: Subscription) -> None:
        assert self._pump is not None
        batch: list[dict[str, Any]] = []
        taken = 0
        while subscription.queue and len(batch) < subscription.max_items:
            event, size = subscription.queue[0]
            if batch and taken + size > subscription.max_bytes:
                break
            subscription.queue.popleft()
            batch.append(event)
            taken += size
        subscription.size -= taken
        subscription.first_at = time.monotonic()
        pump, self._pump = self._pump, None
        pump.reply(200, json.dumps({"uri": subscription.uri, "events": batch}).encode())

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
