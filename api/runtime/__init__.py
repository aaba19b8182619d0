"""The function runtime as the API sees it: one narrow interface, two ways to provide it.

``FunctionRuntime`` is everything the API asks of the runtime: Lambda's Invoke (``/v1`` invocations,
the Lambda endpoint's Invoke and InvokeAsync), a Task state's invocation (synchronous executions),
and notices after the API changed a function (drop cached configurations, prepare an environment,
flush logs before a read). Function code is not sent: the API stores packages in ``code``, the data
directory's code store, which the workers share.

- ``in_process``: a ``FunctionService`` in the API process (sandboxes, database proxies and file
  systems with it). Only ``stepline dev`` (and tests embedding the API) wire it: one process, one warm
  pool, no hop.
- ``remote``: ``stepline api``. The API runs no sandbox and no database proxy; each call goes to a
  live worker's invoke endpoint (``workers.endpoint``), found through the registry.
"""

from __future__ import annotations

from typing import Protocol

from statemachine import FunctionCall, FunctionResult
from workers.functions.codestore import CodeStore


class FunctionRuntime(Protocol):
    """Implemented by ``workers.endpoint.local.LocalRuntime`` and ``api.runtime.remote.RemoteRuntime``."""

    code: CodeStore
    """Where the runtime finds function code: the API stores packages there (``data_dir/code``, which
    every worker of the deployment shares)."""

    async def invoke(
        self, name: str, payload: bytes, *, qualifier: str | None = None,
        invocation_type: str = "RequestResponse", client_context: str | None = None,
    ) -> FunctionResult:  # fmt: skip
        """Lambda's Invoke; raises an ``InvokeError`` (Lambda's status and code) when it cannot run."""
        ...

    async def invoke_for_state_machine(self, call: FunctionCall) -> FunctionResult:
        """A Task state's invocation; failures to invoke are ``StatesError`` (``Lambda.*``)."""
        ...

    async def changed(self, name: str, *, retire: bool = False, provision: bool = False) -> None:
        """``name``'s configuration or code changed (``retire``: its idle environments run old code;
        ``provision``: bring its provisioned environments in line)."""
        ...

    async def prepare(self, name: str, version: str | None = None) -> None:
        """``name`` was deployed (``version``: published): prepare, in the worker its invocations go
        to first, the environment its first cold start takes (Lambda's proactive initialization;
        container-image functions only); returns once it is prepared (or could not be). Best effort:
        never raises."""
        ...

    async def flush_logs(self) -> None:
        """Write buffered log lines now (a log read follows)."""
        ...

    async def in_use(self, name: str) -> int:
        """Invocations of ``name`` running now over every worker (concurrency in use)."""
        ...
