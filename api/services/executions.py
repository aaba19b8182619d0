"""Execution use cases: start (idempotent by name), describe, list, history, stop."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import Response
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api import schemas
from api.pagination import decode_token, encode_token
from api.services import express_executions, mock_configs
from api.services.definitions import input_text_of
from api.services.history import history_body, served_event
from api.state import AppState
from api.stored_json import json_response
from foundation.errors import Conflict, Unavailable
from foundation.registry import activities
from foundation.registry import executions as registry
from foundation.registry.database import unit_of_work
from foundation.registry.executions import RUNNING, Execution
from foundation.registry.state_machines import StateMachineNotFound, get_state_machine
from statemachine import EXECUTION_ROLE_ARN, execution_arn
from workers.contracts import (
    HISTORY_QUERY,
    STOP_SIGNAL,
    WORKFLOW_NAME,
    ExecutionInput,
    HistoryPage,
    HistoryQuery,
    StopRequest,
)

STOP_WAIT_SECONDS = 10.0
"""How long ``stop`` waits for the workflow to write ABORTED before answering."""
QUERY_EVENTS = 1000
"""Events per history query of a running workflow (its answer stays one modest gRPC message; a
finished history's pages, read from PostgreSQL, may be larger)."""


def started(row: Execution, region: str) -> schemas.ExecutionStarted:
    return schemas.ExecutionStarted(
        execution_id=row.id,
        execution_arn=execution_arn(row.state_machine_name, row.name, region),
        name=row.name,
        state_machine=row.state_machine_name,
        version=row.state_machine_version,
        start_date=row.start_date,
        status=row.status,
        alias=row.alias_name,
        published_version=row.published_version,
    )


def public(row: Execution, region: str, parent_id: str | None = None) -> Response:
    """DescribeExecution's answer, with the input and output as stored (``api.stored_json``: a
    value of any depth reads back); ``parent_id``: the execution that started it, if one did."""
    described = schemas.ExecutionPublic(
        execution_id=row.id,
        execution_arn=execution_arn(row.state_machine_name, row.name, region),
        name=row.name,
        status=row.status,
        input=None,
        error=row.error,
        cause=row.cause,
        start_date=row.start_date,
        stop_date=row.stop_date,
        state_machine=row.state_machine_name,
        version=row.state_machine_version,
        started_by=_arn_of(parent_id, region) if parent_id else None,
        alias=row.alias_name,
        published_version=row.published_version,
        redrive_count=row.redrive_count,
        redrive_date=row.redrive_date,
    )
    return json_response(described, input=row.input, output=row.output)


def _arn_of(execution_id: str, region: str) -> str:
    machine, name = execution_id.split(":", 1)
    return execution_arn(machine, name, region)


async def start(
    state: AppState,
    machine_name: str,
    body: schemas.StartExecution,
    *,
    published: int | None = None,
    only_running: bool = False,
    alias: str | None = None,
    test_case: str | None = None,
) -> schemas.ExecutionStarted:
    """Record the execution as RUNNING (committed, so the workflow can always report to it), then
    start its workflow: of the machine's latest version, or of its published version ``published``
    (chosen through ``alias``, which is recorded with it, when given). ``test_case`` (or the body's):
    a test case of the mock configuration whose mocked Tasks make no call.
    A known name with the same input returns the existing execution (with ``only_running``, Step
    Functions' rule, only while it runs: Conflict once it has ended)."""
    input_text = input_text_of(body)
    case = test_case or body.test_case
    mocks = await mock_configs.test_case(state, machine_name, case) if case is not None else None
    name = body.name or str(uuid.uuid4())
    start_date = datetime.now(UTC)
    async with state.sessions() as session:  # one statement, outside a transaction block
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        found = await registry.register_latest(
            session, machine_name, name, input_text, start_date, published, alias, standard_only=True
        )
    if found is None:
        raise StateMachineNotFound(machine_name, published=published)
    if found.machine_type == "EXPRESS":  # asynchronous Express: queued for a worker, not on Temporal
        return await express_executions.start(
            state, machine_name, found, name, input_text, start_date, published=published, alias=alias
        )
    machine_type, version, definition = found.machine_type, found.version, found.definition
    role_arn = found.role_arn
    row = Execution(
        id=registry.execution_id(machine_name, name),
        name=name,
        state_machine_name=machine_name,
        state_machine_version=version,
        status=RUNNING,
        input=input_text,
        start_date=start_date,
    )
    if not found.inserted:
        async with unit_of_work(state.sessions) as session:
            row = await registry.get_execution(session, row.id)
            if json.loads(row.input) != json.loads(input_text):
                raise Conflict(f"execution {name!r} of {machine_name!r} exists with a different input")
            if row.status != RUNNING:
                if only_running:
                    raise Conflict(f"execution {name!r} of {machine_name!r} exists and has ended")
                return started(row, state.settings.region)
            _, existing = await get_state_machine(session, machine_name, row.state_machine_version)
            version, definition, role_arn = existing.version, existing.definition, existing.role_arn
    execution = ExecutionInput(
        execution_id=row.id,
        execution_name=row.name,
        state_machine_name=machine_name,
        state_machine_version=version,
        definition=definition,
        input=row.input,
        start_time=row.start_date.isoformat(),
        role_arn=role_arn or EXECUTION_ROLE_ARN,
        region=state.settings.region,
        express_heartbeat_seconds=state.settings.worker.express_heartbeat_seconds,
        mocks=mocks,
    )
    try:
        await state.temporal.start_workflow(
            WORKFLOW_NAME,
            execution,
            id=row.id,
            task_queue=state.settings.temporal.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            task_timeout=state.settings.temporal.workflow_task_timeout,
            request_eager_start=True,  # taken up when a worker shares this client (stepline dev)
        )
    except WorkflowAlreadyStartedError:
        pass  # it ran already and is reporting (or has reported) its outcome
    except RPCError as exc:
        raise Unavailable(f"Temporal did not start the execution: {exc.message}") from exc
    state.metrics.executions_started.labels(machine_type).inc()
    return started(row, state.settings.region)


async def row(session: AsyncSession, execution_id: str) -> Execution:
    """The execution's registry row; ExecutionNotFound when there is none."""
    return await registry.get_execution(session, execution_id)


async def describe(session: AsyncSession, execution_id: str, region: str) -> Response:
    row = await registry.get_execution(session, execution_id)
    return public(row, region, await activities.parent_of(session, execution_id))


async def list_page(
    session: AsyncSession,
    limit: int,
    next_token: str | None,
    state_machine: str | None,
    status: str | None,
    region: str,
    started: tuple[datetime | None, datetime | None] = (None, None),
) -> schemas.ExecutionList:
    """A page of executions, newest first, filtered by machine, status and start time (``started``:
    at or after its first, before its second; a time without offset is UTC)."""
    after, before = (t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t for t in started)
    rows, token = await executions_page(
        session, limit, next_token, state_machine, status, started=(after, before)
    )
    return schemas.ExecutionList(
        executions=[
            schemas.ExecutionSummary(
                execution_id=r.id,
                execution_arn=execution_arn(r.state_machine_name, r.name, region),
                name=r.name,
                status=r.status,
                state_machine=r.state_machine_name,
                version=r.state_machine_version,
                start_date=r.start_date,
                stop_date=r.stop_date,
            )
            for r in rows
        ],
        next_token=token,
    )


async def executions_page(
    session: AsyncSession,
    limit: int,
    next_token: str | None,
    state_machine: str | None,
    status: str | None,
    published: int | None = None,
    started: tuple[datetime | None, datetime | None] = (None, None),
    alias: str | None = None,
    redriven: bool | None = None,
) -> tuple[list[Execution], str | None]:
    """Executions newest first (of one machine, or one published version or alias of it, with one
    status, started within ``started``), ``limit`` of them after the ``next_token`` position, and the next
    token."""
    before = None
    if next_token:
        position = decode_token("executions", next_token)
        before = (datetime.fromisoformat(position["start"]), str(position["id"]))
    rows = await registry.list_executions(
        session, limit + 1, state_machine, status, before, published, started, alias, redriven
    )
    token = None
    if len(rows) > limit:
        last = rows[limit - 1]
        token = encode_token("executions", {"start": last.start_date.isoformat(), "id": last.id})
    return rows[:limit], token


async def counts(session: AsyncSession, state_machine: str | None) -> schemas.ExecutionCounts:
    """Executions by status for each machine that has any (or for ``state_machine``)."""
    found = await registry.count_by_status(session, state_machine)
    if state_machine is not None and state_machine not in found:
        await get_state_machine(session, state_machine)  # StateMachineNotFound (404) when there is none
        found[state_machine] = {}
    return schemas.ExecutionCounts(
        state_machines=[
            schemas.MachineExecutionCounts(
                name=name,
                total=sum(by_status.values()),
                counts={status: by_status.get(status, 0) for status in schemas.STATUSES},
            )
            for name, by_status in sorted(found.items())
        ]
    )


async def history(
    state: AppState, execution_id: str, limit: int, next_token: str | None, reverse: bool
) -> Response:
    """A page of ``schemas.History``, written straight to bytes (``history_body``)."""
    after = decode_token("history", next_token)["after"] if next_token else None
    events, more = await _history_events(state, execution_id, limit, after, reverse)
    return Response(history_body(events, _next_token(events, more)), media_type="application/json")


async def history_page(
    state: AppState, execution_id: str, limit: int, next_token: str | None, reverse: bool
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of events in GetExecutionHistory's shape, and the next token: from the workflow while
    the execution runs, from PostgreSQL once it has ended (a redriven execution's earlier attempts:
    from PostgreSQL, before the running attempt's events)."""
    after = decode_token("history", next_token)["after"] if next_token else None
    events, more = await _history_events(state, execution_id, limit, after, reverse)
    return [served_event(e) for e in events], _next_token(events, more)


def _next_token(events: list[dict[str, Any]], more: bool) -> str | None:
    return encode_token("history", {"after": events[-1]["id"]}) if more and events else None


async def _history_events(
    state: AppState, execution_id: str, limit: int, after: int | None, reverse: bool
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` events as stored or queried after (before, ``reverse``) event ``after``, and
    whether more follow. A page from the workflow holds at most ``QUERY_EVENTS`` events."""
    async with unit_of_work(state.sessions) as session:
        row = await registry.get_execution(session, execution_id)
        if row.status != RUNNING:
            events = await registry.history_page(session, execution_id, limit + 1, after, reverse)
            more = len(events) > limit
            return events[:limit], more
        if row.redrive_count > 0 and not reverse:
            stored = await registry.history_page(session, execution_id, limit, after, False)
            rest = min(limit, QUERY_EVENTS) - len(stored)
            if rest <= 0:
                return stored, True  # the running attempt's events follow
            after = stored[-1]["id"] if stored else after
            live = await query_history(state, execution_id, HistoryQuery(after, rest, False))
            return stored + (live.events if live else []), bool(live and live.more)
    limit = min(limit, QUERY_EVENTS)
    if row.redrive_count > 0 and reverse:
        return await _redriven_backwards(state, execution_id, limit, after)
    page = await query_history(state, execution_id, HistoryQuery(after, limit, reverse))
    if page is None:  # the workflow is gone: it finished in the meantime, or never started
        async with unit_of_work(state.sessions) as session:
            events = await registry.history_page(session, execution_id, limit + 1, after, reverse)
        return events[:limit], len(events) > limit
    return page.events, page.more


async def _redriven_backwards(
    state: AppState, execution_id: str, limit: int, before: int | None
) -> tuple[list[dict[str, Any]], bool]:
    """Newest first: the running attempt's events, then the earlier attempts' stored ones."""
    live = await query_history(state, execution_id, HistoryQuery(before, limit, True))
    events = live.events if live else []
    if live is not None and live.more:
        return events, True
    older_than = events[-1]["id"] if events else before
    async with unit_of_work(state.sessions) as session:
        older = await registry.history_page(session, execution_id, limit - len(events) + 1, older_than, True)
    rest = limit - len(events)
    return events + older[:rest], len(older) > rest


async def query_history(state: AppState, execution_id: str, query: HistoryQuery) -> HistoryPage | None:
    handle: WorkflowHandle[object, object] = state.temporal.get_workflow_handle(execution_id)
    try:
        page: HistoryPage = await handle.query(HISTORY_QUERY, query, result_type=HistoryPage)
        return page
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise Unavailable(f"Temporal did not answer the history query: {exc.message}") from exc


async def stop(state: AppState, execution_id: str, body: schemas.StopExecution) -> schemas.StopResult:
    """Signal the workflow to abort, and wait briefly for it to record ABORTED."""
    async with unit_of_work(state.sessions) as session:
        row = await registry.get_execution(session, execution_id)
    if row.status == RUNNING:
        handle = state.temporal.get_workflow_handle(execution_id)
        try:
            await handle.signal(STOP_SIGNAL, StopRequest(body.error, body.cause))
            await asyncio.wait_for(handle.result(), STOP_WAIT_SECONDS)
        except TimeoutError:
            pass
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise Unavailable(f"Temporal did not take the stop request: {exc.message}") from exc
            async with unit_of_work(state.sessions) as session:  # no workflow: abort the row itself
                await registry.finish_execution(
                    session, execution_id, "ABORTED", None, body.error, body.cause, datetime.now(UTC)
                )
        async with unit_of_work(state.sessions) as session:
            row = await registry.get_execution(session, execution_id)
    return schemas.StopResult(status=row.status, stop_date=row.stop_date)
