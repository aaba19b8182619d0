"""Running cases end to end through Stepline's Step Functions endpoint with boto3 (``--aws URL``).

The same cases, preparation and comparison as ``remote`` (``RemoteRunner``: function renaming,
time-relative inputs, account masking, isolated cases first), but every Step Functions step is a
boto3 call, as a user's code makes it: ValidateStateMachineDefinition, CreateStateMachine (refusals
are AWS's own error code and message, compared directly), StartExecution or StartSyncExecution,
DescribeExecution until it ends, GetExecutionHistory page by page, StopExecution past the deadline.
Functions are still registered through ``/v1/functions`` on the same server (function creation is
not what the corpus tests).

boto3 is synchronous: its calls run in a thread pool of their own, so cases still run concurrently.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shell.conformance.cases import Case
from shell.conformance.remote import (
    HISTORY_PAGE,
    POLL_SECONDS,
    Prepared,
    RemoteError,
    RemoteRunner,
    probe,
    shift_timestamps,
)
from shell.conformance.runner import BASE_TIMEOUT_SECONDS, RECORDING_CLOCK, Actual, CaseResult
from statemachine import JSON

ROLE_ARN = "arn:aws:iam::000000000000:role/StepFunctionsRole"
REGION = "us-east-1"


def stepfunctions_client(url: str, concurrency: int) -> Any:
    """boto3's Step Functions client for ``url``: credentials from the environment (any, on a
    loopback API without access keys), no retries, the ``sync-`` host prefix off."""
    session = boto3.session.Session()
    found = session.get_credentials()
    keys = {} if found is not None else {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    config = Config(
        retries={"max_attempts": 1},
        inject_host_prefix=False,
        max_pool_connections=concurrency * 2,
        read_timeout=BASE_TIMEOUT_SECONDS * 20,
    )
    return session.client("stepfunctions", endpoint_url=url, region_name=REGION, config=config, **keys)


class AwsRunner(RemoteRunner):
    """``RemoteRunner`` with the Step Functions steps done through boto3."""

    def __init__(
        self, client: httpx.AsyncClient, sfn: Any, pool: ThreadPoolExecutor, run_id: str | None = None
    ):
        super().__init__(client, run_id=run_id)
        self._sfn = sfn
        self._pool = pool

    async def _aws(self, operation: str, **params: Any) -> dict[str, Any]:
        """One boto3 call in the pool; ClientError stays (the case's answer), other failures are
        RemoteError (the runner's)."""
        method: Callable[..., dict[str, Any]] = getattr(self._sfn, operation)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, lambda: method(**params))
        except BotoCoreError as exc:
            raise RemoteError(f"{operation}: {exc}") from exc

    async def _perform(self, case: Case, prepared: Prepared, machine: str) -> Actual:
        try:
            return await self._steps(case, prepared, machine)
        except ClientError as exc:  # an error no step expects: the case shows it, as the API said it
            error = exc.response.get("Error", {})
            raise RemoteError(f"{exc.operation_name}: {error.get('Code')}: {error.get('Message')}") from exc

    async def _steps(self, case: Case, prepared: Prepared, machine: str) -> Actual:
        if case.kind == "validate":
            return await self._validate(case)
        try:
            created = await self._aws(
                "create_state_machine",
                name=machine,
                definition=prepared.definition_text,
                roleArn=ROLE_ARN,
                type=case.state_machine_type,
            )
        except ClientError as exc:
            return _refused(exc, "CREATE_FAILED")
        if case.kind == "create_error":
            return Actual("CREATED")
        await self._register(prepared)
        arn = str(created["stateMachineArn"])
        if case.sync:
            return await self._sync(case, prepared, arn)
        try:
            started = await self._aws(
                "start_execution", stateMachineArn=arn, input=_input_text(case, prepared)
            )
        except ClientError as exc:
            return _refused(exc, "START_FAILED")
        if case.kind == "start_error":
            return Actual("STARTED")
        return await self._wait(
            str(started["executionArn"]), BASE_TIMEOUT_SECONDS + 2 * case.wait_budget_seconds
        )

    async def _validate(self, case: Case) -> Actual:
        try:
            body = await self._aws("validate_state_machine_definition", definition=case.definition_text)
        except ClientError as exc:
            return _refused(exc, "REFUSED")
        output: dict[str, JSON] = {k: body[k] for k in ("result", "diagnostics", "truncated") if k in body}
        return Actual(str(body["result"]), output=output)

    async def _sync(self, case: Case, prepared: Prepared, arn: str) -> Actual:
        try:
            body = await self._aws(
                "start_sync_execution", stateMachineArn=arn, input=json.dumps(prepared.input)
            )
        except ClientError as exc:
            return _refused(exc, "START_FAILED")
        if case.kind == "start_error":
            return Actual("STARTED")
        return Actual(str(body["status"]), _decoded(body.get("output")), body.get("error"), body.get("cause"))

    async def _wait(self, execution: str, seconds: float) -> Actual:
        deadline = time.monotonic() + seconds
        while True:
            body = await self._aws("describe_execution", executionArn=execution)
            if body["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                history = await self._events(execution)
                await self._aws("stop_execution", executionArn=execution)
                return Actual("RUNNING", history=history)
            await asyncio.sleep(POLL_SECONDS)
        return Actual(
            status=str(body["status"]),
            output=_decoded(body.get("output")),
            error=body.get("error"),
            cause=body.get("cause"),
            history=await self._events(execution),
        )

    async def _events(self, execution: str) -> tuple[str, ...]:
        types: list[str] = []
        token: dict[str, str] = {}
        while True:
            page = await self._aws(
                "get_execution_history", executionArn=execution, maxResults=HISTORY_PAGE, **token
            )
            types += [str(event["type"]) for event in page["events"]]
            if not page.get("nextToken"):
                return tuple(types)
            token = {"nextToken": page["nextToken"]}


def _input_text(case: Case, prepared: Prepared) -> str:
    if case.input_raw is not None:
        return case.input_raw
    value = prepared.input
    if "time_relative_input" in case.tags:
        value = shift_timestamps(value, datetime.now(UTC) - RECORDING_CLOCK)
    return json.dumps(value)


def _decoded(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _refused(exc: ClientError, status: str) -> Actual:
    error = exc.response.get("Error", {})
    return Actual(status, error=str(error.get("Code")), cause=error.get("Message"))


async def run_aws(
    cases: Sequence[Case], url: str, *, token: str | None = None, concurrency: int = 16
) -> list[CaseResult]:
    """Run ``cases`` through the Step Functions endpoint at ``url`` (functions via ``/v1``, with
    bearer ``token`` when given)."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=concurrency * 2)
    with ThreadPoolExecutor(max_workers=concurrency * 2, thread_name_prefix="boto3") as pool:
        sfn = await asyncio.get_running_loop().run_in_executor(pool, stepfunctions_client, url, concurrency)
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits) as client:
            await probe(client)
            try:
                await asyncio.get_running_loop().run_in_executor(
                    pool, lambda: sfn.list_state_machines(maxResults=1)
                )
            except (BotoCoreError, ClientError) as exc:
                raise RemoteError(f"ListStateMachines through {url}: {exc}") from exc
            return await AwsRunner(client, sfn, pool).run_cases(cases, concurrency)
