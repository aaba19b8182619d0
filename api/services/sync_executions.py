"""Synchronous (Express) executions: the interpreter runs in the API process on the language's
``LocalHost`` in real time, at most five minutes, with functions invoked through the function
runtime the lifespan attached (if any)."""

from __future__ import annotations

import asyncio
import json
import uuid
import weakref
from datetime import UTC, datetime

from api import schemas
from api.json_input import SERIALISABLE_DEPTH, depth_exceeds
from api.services.definitions import input_text_of
from api.state import AppState
from foundation.errors import InvalidRequest
from foundation.registry.execution_logs import LoggingConfig
from foundation.registry.state_machines import get_runnable
from statemachine import (
    EXECUTION_ROLE_ARN,
    ExecutionContext,
    FunctionCall,
    FunctionInvoker,
    FunctionResult,
    LocalHost,
    StatesError,
    check_start,
    execute,
    express_execution_arn,
    state_machine_arn,
)
from workers.contracts import Invoker
from workers.execution_logs import book_for, rows_of
from workers.express import record_end
from workers.host import program_of
from workers.integrations import Integrations
from workers.integrations import for_settings as integrations_for

SYNC_LIMIT_SECONDS = 300.0
"""Step Functions' limit for a synchronous Express execution."""


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _uuid4() -> str:
    return str(uuid.uuid4())


def _functions(invoker: Invoker | None) -> FunctionInvoker:
    """Task states' invocations: through the function runtime attached to this process, if any."""
    if invoker is not None:
        return invoker.invoke_for_state_machine

    async def no_runtime(call: FunctionCall) -> FunctionResult:
        raise StatesError("Lambda.ServiceException", "the API runs no function runtime")

    return no_runtime


_INTEGRATIONS: weakref.WeakKeyDictionary[object, Integrations] = weakref.WeakKeyDictionary()


def _integrations(state: AppState) -> Integrations:
    """One ``Integrations`` per app, by its registry (its AWS clients are kept between executions)."""
    found = _INTEGRATIONS.get(state.sessions)
    if found is None:
        found = _INTEGRATIONS[state.sessions] = integrations_for(state.settings, state.sessions)
    return found


def _host(state: AppState, started: datetime) -> LocalHost:
    """The language's in-memory host in real time: the wall clock, fresh uuids and random numbers."""
    return LocalHost(
        invoker=_functions(state.function_invoker),
        services=_integrations(state).call,
        start_time=started,
        seed=None,
        virtual_time=False,
        clock=_wall_clock,
        uuids=_uuid4,
    )


async def run(
    state: AppState, machine_name: str, body: schemas.SyncExecutionRequest, *, published: int | None = None
) -> schemas.SyncExecutionResult:
    """Run the latest version (or published version ``published``) of an EXPRESS machine to its end
    (or to TIMED_OUT after five minutes)."""
    input_text = input_text_of(body)
    async with state.engine.connect() as connection:  # one read: no transaction to begin and commit
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        version = await get_runnable(autocommit, machine_name, published)
    refused = check_start(version.type, input_text, sync=True)
    if refused is not None:
        raise InvalidRequest(f"{refused.code}: {refused.message}", [{"location": "/", "code": refused.code}])
    name = str(uuid.uuid4())
    started = datetime.now(UTC)
    context = ExecutionContext(
        execution_id=express_execution_arn(machine_name, name, _uuid4(), state.settings.region),
        execution_name=name,
        state_machine_id=state_machine_arn(machine_name, state.settings.region),
        state_machine_name=machine_name,
        role_arn=version.role_arn or EXECUTION_ROLE_ARN,
        start_time=started,
    )
    host = _host(state, started)
    program = program_of(version.definition)  # validated and compiled once per definition text
    try:
        outcome = await asyncio.wait_for(
            execute(program, json.loads(input_text), context, host), SYNC_LIMIT_SECONDS
        )
        status, output, error, cause = outcome.status, outcome.output, outcome.error, outcome.cause
    except TimeoutError:
        status, output = "TIMED_OUT", None
        error, cause = (
            "States.Timeout",
            f"the synchronous execution ran longer than {SYNC_LIMIT_SECONDS:.0f} s",
        )
        record_end(host, "ExecutionTimedOut", error, cause)
    if version.log_level is not None and version.log_level != "OFF":  # journaled now, stored in a batch
        config = LoggingConfig(version.log_level, version.include_execution_data, version.log_group)
        rows = rows_of(host.history, config, context.execution_id, machine_name)
        book_for(state.settings, state.sessions).add(rows)
    if status == "SUCCEEDED" and depth_exceeds(output, SERIALISABLE_DEPTH):
        status, output, error = "FAILED", None, "States.Runtime"
        cause = f"the output nests more than {SERIALISABLE_DEPTH} levels deep: no response can carry it"
    state.metrics.executions_started.labels("EXPRESS_SYNC").inc()
    return schemas.SyncExecutionResult(
        execution_arn=context.execution_id,
        name=name,
        state_machine=machine_name,
        version=version.version,
        status=status,
        input=json.loads(input_text),
        output=output if status == "SUCCEEDED" else None,
        error=error,
        cause=cause,
        start_date=started,
        stop_date=datetime.now(UTC),
    )
