"""What a Lambda operation gets (``Call``) and how the services' errors read in Lambda's words."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from api.aws.errors import AwsError
from api.aws.lambda_config import not_found
from api.function_schemas import FunctionPublic
from api.runtime import FunctionRuntime
from api.services.functions import prepare_deployed
from api.state import AppState
from foundation.errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge
from foundation.registry import functions as registry
from foundation.registry.code_signing import CodeSigningConfigNotFound
from foundation.registry.database import unit_of_work
from foundation.registry.resources import ResourceNotFound
from workers.functions.errors import InvokeError

log = logging.getLogger(__name__)
Output = dict[str, Any] | None
Operation = Callable[["Call", dict[str, Any]], Awaitable[Output]]


@dataclass
class Call:
    """One Lambda request: the app's state, the function runtime, and work to do after the response."""

    state: AppState
    runtime: FunctionRuntime
    request_id: str
    account_id: str
    after: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    base_url: str = ""
    """Where the request came in (``http://host:port/``): function URLs are built on it."""

    @property
    def region(self) -> str:
        return self.state.settings.region

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One transaction, its errors in Lambda's words."""
        async with unit_of_work(self.state.sessions) as session:
            yield session

    def refresh(self, name: str, *, retire: bool = False, provision: bool = False) -> None:
        """After the response: drop the runtime's cached configuration of ``name`` (``retire``: stop its
        idle environments too) and bring its provisioned environments in line."""

        async def run() -> None:
            await self.runtime.changed(name, retire=retire, provision=provision)

        self.after.append(run)

    def prepare(self, deployed: FunctionPublic, latest: FunctionPublic | None = None) -> None:
        """After the response (and the notices before it): prepare the environment the deployed
        function (or published version) takes at its first cold start, then end its Pending state
        (``api.services.functions.prepare_deployed``)."""

        async def run() -> None:
            await prepare_deployed(self.runtime, self.state.sessions, deployed, latest)

        self.after.append(run)


def check_revision(current: str, given: str | None, api: str = "GetFunction/GetAlias") -> None:
    """Lambda's optimistic check: a ``RevisionId`` given must be the function's current one."""
    if given is not None and given != current:
        raise AwsError(
            "PreconditionFailedException",
            f"The Revision Id provided does not match the latest Revision Id. Call the {api} API to retrieve "
            "the latest Revision Id",
            412,
        )


def lambda_error(exc: Exception, region: str) -> AwsError | None:
    """The Lambda error for a service, registry or runtime error; None for anything else."""
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, registry.FunctionNotFound):
        return not_found(region, exc.name, exc.qualifier)
    if isinstance(exc, registry.FunctionExists):
        return AwsError("ResourceConflictException", f"Function already exist: {exc.name}", 409)
    if isinstance(exc, CodeSigningConfigNotFound):
        return AwsError(
            "CodeSigningConfigNotFoundException",
            f"The code signing configuration {exc.config_id} cannot be found",
            404,
        )
    if isinstance(exc, InvokeError):
        return AwsError(exc.code, exc.message, exc.status)
    if isinstance(exc, PayloadTooLarge):
        return AwsError("RequestTooLargeException", exc.detail, 413)
    if isinstance(exc, InvalidRequest):  # tags beyond the limits too
        codes = [p.get("code") for p in exc.problems if p.get("code")]
        return AwsError(str(codes[0]) if codes else "InvalidParameterValueException", exc.detail)
    if isinstance(exc, ValidationError):
        return AwsError("InvalidParameterValueException", _pydantic_message(exc))
    if isinstance(exc, ResourceNotFound):  # a file system or db proxy the configuration names
        return AwsError("InvalidParameterValueException", exc.detail)
    if isinstance(exc, NotFound):  # a policy statement
        return AwsError("ResourceNotFoundException", exc.detail, 404)
    if isinstance(exc, Conflict):  # a policy statement id taken, a revision overtaken
        return AwsError("ResourceConflictException", exc.detail, 409)
    return None


_FIELDS = {
    "name": "FunctionName", "runtime": "Runtime", "handler": "Handler", "memory_size": "MemorySize",
    "timeout": "Timeout", "environment": "Environment", "ephemeral_storage": "EphemeralStorage",
    "description": "Description", "file_system_configs": "FileSystemConfigs", "code": "Code",
    "reserved": "ReservedConcurrentExecutions", "provisioned": "ProvisionedConcurrentExecutions",
}  # fmt: skip


def _pydantic_message(exc: ValidationError) -> str:
    """A service schema's complaint, with Lambda's member names."""
    parts = []
    for error in exc.errors():
        where = ".".join(_FIELDS.get(str(p), str(p)) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
    return "; ".join(parts)
