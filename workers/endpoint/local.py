"""The function runtime as the API uses it, over this process's ``FunctionService``: what ``stepline
dev`` calls in-process and what the worker's endpoint serves to ``stepline api`` processes."""

from __future__ import annotations

from statemachine import FunctionCall, FunctionResult
from workers.functions.service import FunctionService


class LocalRuntime:
    """Invocations, and the notices the API sends when it changed a function, for one service."""

    def __init__(self, service: FunctionService) -> None:
        self.service = service
        self.code = service.code
        """Where the service finds function code (the API stores packages there)."""

    async def invoke(
        self, name: str, payload: bytes, *, qualifier: str | None = None,
        invocation_type: str = "RequestResponse", client_context: str | None = None,
    ) -> FunctionResult:  # fmt: skip
        """Lambda's Invoke (raises an ``InvokeError`` when the invocation cannot run)."""
        return await self.service.invoke(
            name, payload, qualifier=qualifier, invocation_type=invocation_type, client_context=client_context
        )

    async def invoke_for_state_machine(self, call: FunctionCall) -> FunctionResult:
        """A Task state's invocation (invocation failures as ``StatesError``)."""
        return await self.service.invoke_for_state_machine(call)

    async def changed(self, name: str, *, retire: bool = False, provision: bool = False) -> None:
        """``name`` changed: drop its cached configuration (``retire``: stop its idle environments, which
        run the old code) and bring its provisioned environments in line (``provision``)."""
        await self.service.forget(name, retire=retire)
        if provision:
            await self.service.provision(name)

    async def prepare(self, name: str, version: str | None = None) -> None:
        """``name`` was deployed: prepare the environment its first cold start takes (image functions)."""
        await self.service.prepare(name, version)

    async def flush_logs(self) -> None:
        """Write the log lines still buffered, so that a read that follows sees them."""
        await self.service.logs.flush()

    async def in_use(self, name: str) -> int:
        """Invocations of ``name`` running in this worker now."""
        return self.service.pool.in_use(name)
