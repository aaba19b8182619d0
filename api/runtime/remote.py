"""The function runtime in the workers (``stepline api``): every invocation goes to a live worker's
invoke endpoint (``workers.endpoint``), found through the registry (``api.runtime.directory``).

What Lambda clients see does not change across the hop: the worker's answer carries the result's
own fields (status, executed version, function error, log tail) and its ``InvokeError``s keep their
code and status (429 TooManyRequestsException stays 429). What the hop adds:

- no live worker: ``NoLiveWorker``, 503 ServiceException naming the problem;
- the worker died (or stopped heartbeating) mid-invocation: 500 ServiceException saying so, at once
  when its connection closes, else once its heartbeat is ``STALE_SECONDS`` old; never a hang
  (``HARD_TIMEOUT_SECONDS`` bounds even a worker that heartbeats but never answers);
- a request that never reached a worker is tried on the next one; one that did is never resent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CollectorRegistry

from api.runtime.directory import WorkerDirectory, watching
from api.runtime.peers import Peer, Unreachable
from foundation.registry.database import SessionMaker
from foundation.settings import Settings
from statemachine import FunctionCall, FunctionResult, StatesError, parse_function_ref
from workers.endpoint import wire
from workers.functions.codestore import CodeStore
from workers.functions.errors import InvokeError, ServiceError

log = logging.getLogger(__name__)

HARD_TIMEOUT_SECONDS = 900.0 + 60.0
"""Lambda's longest function timeout, and a minute for the worker to start and answer."""
NOTICE_SECONDS = 5.0
PREPARE_SECONDS = 30.0
"""A deployment's preparation: the worker answers once the environment is prepared (25 s at most)."""


class NoLiveWorker(ServiceError):
    """No worker can take the invocation now."""

    status = 503


class RemoteRuntime:
    """``FunctionRuntime`` over the live workers' invoke endpoints."""

    def __init__(self, directory: WorkerDirectory, token: bytes, code: CodeStore) -> None:
        self._directory = directory
        self._token = token
        self.code = code

    async def invoke(
        self, name: str, payload: bytes, *, qualifier: str | None = None,
        invocation_type: str = "RequestResponse", client_context: str | None = None,
    ) -> FunctionResult:  # fmt: skip
        meta = {
            "function": name,
            "qualifier": qualifier,
            "type": invocation_type,
            "client_context": client_context,
        }
        status, out, body = await self._send(wire.INVOKE, meta, payload, name)
        if status != 200:
            raise wire.invoke_error(status, out)
        return wire.from_meta(FunctionResult, out, body)

    async def invoke_for_state_machine(self, call: FunctionCall) -> FunctionResult:
        meta, payload = wire.to_meta(call)
        try:
            status, out, body = await self._send(wire.INVOKE_TASK, meta, payload, _name_of(call.function))
            if status != 200:
                raise wire.invoke_error(status, out)
        except InvokeError as exc:
            raise StatesError(f"Lambda.{exc.code}", exc.message) from None
        if "states_error" in out:
            raise StatesError(str(out["states_error"]), out.get("cause"))
        return wire.from_meta(FunctionResult, out, body)

    async def changed(self, name: str, *, retire: bool = False, provision: bool = False) -> None:
        """Tell every live worker (each caches configurations and keeps environments of its own)."""
        await self._broadcast(wire.CHANGED, {"function": name, "retire": retire, "provision": provision})

    async def prepare(self, name: str, version: str | None = None) -> None:
        """Ask the worker ``name``'s invocations go to first (its affinity) to prepare one, and wait."""
        try:
            async with asyncio.timeout(PREPARE_SECONDS):
                await self._send(wire.PREPARE, {"function": name, "version": version}, b"", name)
        except (ServiceError, InvokeError, TimeoutError) as exc:
            log.warning("could not ask a worker to prepare %s: %s", name, exc)

    async def flush_logs(self) -> None:
        await self._broadcast(wire.FLUSH_LOGS, {})

    async def in_use(self, name: str) -> int:
        """The sum of every live worker's count (one that does not answer counts none)."""
        data = wire.request_bytes(wire.IN_USE, self._token, {"function": name})

        async def ask(peer: Peer) -> int:
            try:
                async with asyncio.timeout(NOTICE_SECONDS):
                    status, meta, _ = await peer.request(data)
            except (Unreachable, InvokeError, TimeoutError) as exc:
                log.warning("could not ask worker %s what runs: %s", peer.id[:8], exc)
                return 0
            count = meta.get("in_use")
            return count if status == 200 and isinstance(count, int) else 0

        return sum(await asyncio.gather(*(ask(peer) for peer in self._directory.candidates(""))))

    async def _send(
        self, path: str, meta: dict[str, Any], payload: bytes, affinity: str
    ) -> tuple[int, dict[str, Any], bytes]:
        data = wire.request_bytes(path, self._token, meta, payload)
        refused: dict[str, str] = {}
        for attempt in range(2):
            for peer in self._directory.candidates(affinity):
                if peer.id in refused:
                    continue
                try:
                    async with asyncio.timeout(HARD_TIMEOUT_SECONDS):
                        return await peer.request(data)
                except Unreachable as exc:
                    self._directory.passed_over(peer)
                    refused[peer.id] = f"worker {peer.id[:8]} at {peer.address} is unreachable ({exc})"
                except TimeoutError:
                    raise ServiceError(
                        f"the worker {peer.id[:8]} at {peer.address} did not answer within "
                        f"{HARD_TIMEOUT_SECONDS:.0f} s"
                    ) from None
            if attempt == 0:
                await self._directory.refresh()  # a worker may have started (or replaced a dead one) since
        stale = f"{self._directory.stale_seconds:.0f}"
        detail = "; ".join(refused.values()) or f"no worker has sent a heartbeat in the last {stale} s"
        raise NoLiveWorker(
            f"no live worker can run the invocation: {detail}. Start `stepline worker` with this API's "
            "STEPLINE_DATABASE_URL and data directory"
        )

    async def _broadcast(self, path: str, meta: dict[str, Any]) -> None:
        data = wire.request_bytes(path, self._token, meta)

        async def notify(peer: Peer) -> None:
            try:
                async with asyncio.timeout(NOTICE_SECONDS):
                    await peer.request(data)
            except (Unreachable, InvokeError, TimeoutError) as exc:
                log.warning("could not tell worker %s (%s): %s", peer.id[:8], path, exc)

        await asyncio.gather(*(notify(peer) for peer in self._directory.candidates("")))


def _name_of(function: str) -> str:
    try:
        return parse_function_ref(function)[0]
    except ValueError:
        return function


@asynccontextmanager
async def remote(
    settings: Settings, sessions: SessionMaker, metrics: CollectorRegistry
) -> AsyncIterator[RemoteRuntime]:
    """Hand invocations to the live workers until the block ends (``metrics``: the workers keep them)."""
    async with watching(sessions) as directory:
        yield RemoteRuntime(
            directory, wire.endpoint_token(settings), CodeStore(settings.data_dir.resolve() / "code")
        )
