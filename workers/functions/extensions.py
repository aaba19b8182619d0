"""An environment's external extensions: the Extensions API host and the Telemetry API, together.

``Environment`` holds one ``Extensions`` only for a function whose layers carry extensions, and
checks for it with one ``is not None`` on its invoke path: a function without extensions pays
nothing else. This records the platform events Lambda sends to Telemetry API subscribers
(``platform.initStart``, ``initRuntimeDone``, ``initReport``, ``start``, ``runtimeDone``,
``report``) and the function's log lines, and routes the sandbox's requests below the Extensions
and Telemetry API paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence

from workers.functions import telemetry
from workers.functions.config import FunctionConfig
from workers.functions.extensions_api import PREFIX, SHUTDOWN_SECONDS, ExtensionsHost, Replier, error
from workers.functions.telemetry import Telemetry

MAX_LINE = 262144
MAX_LOG_BYTES = 1024 * 1024
"""The extensions' output an invocation's log takes at most (the rest still reaches subscribers)."""


class Extensions:
    """The extensions of one environment."""

    def __init__(
        self, config: FunctionConfig, names: Sequence[str], on_failure: Callable[[str, str], None],
        on_ready: Callable[[], None],
    ) -> None:  # fmt: skip
        self._config = config
        self.telemetry = Telemetry()
        self.host = ExtensionsHost(config, names, on_failure, on_ready, self.telemetry.subscribe)
        self._log: list[str] = []
        self._log_bytes = 0
        self._init_ms: float | None = None
        """INIT's duration, for the first invocation's ``platform.report`` (Lambda's initDurationMs)."""
        self._init_type = "provisioned-concurrency" if config.provisioned_concurrency else "on-demand"
        self.telemetry.record(
            "platform.initStart",
            {"initializationType": self._init_type, "phase": "init", "runtimeVersion": config.runtime,
             "functionName": config.name, "functionVersion": config.version},
        )  # fmt: skip

    @property
    def connections(self) -> int:
        """The Runtime API connections the extensions need above the runtime's: each one's long poll,
        its log forwarder and a request, and the launcher's two."""
        return 3 * len(self.host.expected) + 2

    @property
    def ready(self) -> bool:
        return self.host.ready

    def request(self, conn: Replier, method: str, path: str, headers: Mapping[str, str], body: bytes) -> None:
        """Route one Extensions or Telemetry API request."""
        if path.startswith(PREFIX):
            self.host.handle(conn, method, path, headers, body)
        elif method == "PUT" and path == telemetry.PATH:
            self.host.subscribe(conn, headers.get("lambda-extension-identifier", ""), body)
        elif method == "GET" and path == telemetry.PUMP_PATH:
            self.telemetry.fetch(conn)
        elif method == "POST" and path == telemetry.LOG_PATH:
            self._extension_log(headers.get("lambda-extension-name", "")[:100], body)
            conn.reply(202, b'{"status":"OK"}')
        else:
            conn.reply(404, error("NotFound", f"No such Telemetry API path: {method} {path[:100]}"))

    def _extension_log(self, name: str, body: bytes) -> None:
        """Lines an extension wrote: ``extension`` events, and the invocation's log (bounded)."""
        try:
            lines = json.loads(body)
        except ValueError:
            return
        if not isinstance(lines, list):
            return
        for line in lines:
            if isinstance(line, str):
                self.telemetry.record("extension", line[:MAX_LINE])
                if self._log_bytes < MAX_LOG_BYTES:
                    self._log.append(f"[{name}] {line[:MAX_LINE]}")
                    self._log_bytes += min(len(line), MAX_LINE)

    def take_log(self) -> list[str]:
        """The extensions' lines since the last call (the invocation's log takes them)."""
        taken, self._log, self._log_bytes = self._log, [], 0
        return taken

    def init_done(self, duration_ms: float) -> None:
        """INIT ended: registration closes; its platform events."""
        self.host.initialising = False
        self._init_ms = duration_ms
        phase = {"initializationType": self._init_type, "phase": "init", "status": "success"}
        self.telemetry.record("platform.initRuntimeDone", phase)
        metrics = {"durationMs": round(duration_ms, 3)}
        self.telemetry.record("platform.initReport", {**phase, "metrics": metrics})

    def invoke(self, request_id: str, deadline_ms: int, arn: str) -> None:
        self.telemetry.record("platform.start", {"requestId": request_id, "version": self._config.version})
        self.host.invoke(request_id, deadline_ms, arn)

    async def done(
        self, request_id: str, error_type: str | None, lines: Sequence[str], deadline: float
    ) -> bool:
        """The runtime has answered (``lines``: what the function wrote): record it, then wait, up to
        ``deadline`` (``time.perf_counter``), for every INVOKE extension to ask for its next event.
        False if one did not in time (the invocation then times out, as Lambda's)."""
        for line in lines:
            self.telemetry.record("function", line)
        self.telemetry.record(
            "platform.runtimeDone", {"requestId": request_id, "status": _status(error_type)}
        )
        try:
            async with asyncio.timeout(max(deadline - time.perf_counter(), 0.0)):
                await self.host.settled()
        except TimeoutError:
            return False
        return True

    def report(self, request_id: str, error_type: str | None, duration_ms: float, max_memory_mb: int) -> None:
        metrics = {
            "durationMs": round(duration_ms, 3),
            "billedDurationMs": math.ceil(duration_ms),
            "memorySizeMB": self._config.memory_mb,
            "maxMemoryUsedMB": max_memory_mb,
        }
        if self._init_ms is not None:
            metrics["initDurationMs"] = round(self._init_ms, 3)
            self._init_ms = None
        record = {"requestId": request_id, "status": _status(error_type), "metrics": metrics}
        self.telemetry.record("platform.report", record)

    async def shut_down(self, reason: str) -> None:
        """SHUTDOWN to the extensions registered for it, and up to ``SHUTDOWN_SECONDS`` for them to
        finish (the sandbox is thawed: they run)."""
        finished = self.host.shut_down(reason)
        if finished is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SHUTDOWN_SECONDS):
                    await finished

    def close(self) -> None:
        """The environment ended: whatever waits on the extensions stops waiting."""
        self.host.release()
        self.telemetry.close()


def _status(error_type: str | None) -> str:
    """A platform event's ``status``."""
    return "success" if error_type is None else "timeout" if error_type == "Sandbox.Timedout" else "error"
