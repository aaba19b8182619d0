"""TestState: run one state with a given input, at an inspection level, with its Task's (or Map's,
Parallel's) work mocked or done for real, and show its data after each processing step.

The stages, statuses and next state are ``statemachine.inspect_state``'s (the interpreter's own
code). Without a mock (which AWS requires for Map, Parallel, activity, ``.sync`` and
``.waitForTaskToken`` states), a Task's work runs for real in this process, as a synchronous execution
runs (``sync_executions``: functions through the attached runtime, service integrations at their
configured endpoints): a one-state machine of the state without its processing
(``statemachine.test_state.work_machine``), given the data after InputPath and Parameters (or
Arguments), which were rendered with the variables in scope.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from api.services.sync_executions import SYNC_LIMIT_SECONDS
from api.services.sync_executions import _host as real_time_host
from api.state import AppState
from foundation.errors import InvalidRequest
from statemachine import (
    EXECUTION_ROLE_ARN,
    JSON,
    TEST_STATE,
    ExecutionContext,
    Inspection,
    InspectionLevel,
    StatesError,
    StateWork,
    execute,
    execution_arn,
    find_state,
    inspect_state,
    is_mockable,
    load_program,
    machine_under_test,
    needs_mock,
    state_machine_arn,
    state_spec,
    work_machine,
)

INPUT_STAGES = ("afterParameters", "afterArguments", "afterInputPath")
"""The stage whose data a state's work receives, most processed first."""


@dataclass(frozen=True)
class Mock:
    """TestState's ``mock``: a result, or an error (``error`` set)."""

    result: JSON = None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class TestStateRequest:
    """TestState's request, its JSON texts decoded."""

    __test__ = False  # not a pytest class

    definition: str | dict[str, JSON]
    input: JSON = field(default_factory=dict)
    state_name: str | None = None
    level: InspectionLevel = "INFO"
    variables: dict[str, JSON] = field(default_factory=dict)
    mock: Mock | None = None
    retry_count: int = 0


def _refused(message: str, location: str) -> InvalidRequest:
    return InvalidRequest(
        message, [{"location": location, "code": "ValidationException", "message": message}]
    )


async def test_state(state: AppState, request: TestStateRequest) -> Inspection:
    """See the module docstring.

    Raises:
        DefinitionError: the definition (or the state in it) is not valid ASL.
        InvalidRequest: a mock for a state that does no work; a negative retry count.
    """
    machine, name = machine_under_test(request.definition, request.state_name)
    program = load_program(machine)
    found = find_state(program.block, name)
    assert found is not None  # machine_under_test checked the name
    if request.mock is not None and not is_mockable(found):
        raise _refused(
            f"A mock is only for a Task, Map or Parallel state; '{name}' is a {type(found).__name__}",
            "/mock",
        )
    unrunnable = needs_mock(found)
    if request.mock is None and unrunnable is not None:
        raise _refused(
            "TestState only supports Activity tasks, .sync or .waitForTaskToken service integration "
            f"patterns, Parallel, or Map states when a mock is specified; '{name}' is {unrunnable}",
            "/mock",
        )
    if request.retry_count < 0:
        raise _refused("retrierRetryCount must not be negative", "/stateConfiguration/retrierRetryCount")
    started = datetime.now(UTC)
    context = _context(state, started)
    work = StateWork(
        request.input,
        variables=request.variables,
        entered_time=started,
        retry_count=request.retry_count,
        may_retry=True,
    )
    if is_mockable(found):
        before = inspect_state(found, work, context, request.input, "DEBUG")
        if before.status == "FAILED":  # InputPath or Parameters failed: no work is done
            return inspect_state(found, work, context, request.input, request.level)
        result, error = (
            _mocked(request.mock)
            if request.mock is not None
            else await _done(
                state, found.query_language, machine, name, before, request.input, context, started
            )
        )
        work = replace(work, error=error) if error is not None else replace(work, result=result)
    return inspect_state(found, work, context, request.input, request.level)


def _mocked(mock: Mock) -> tuple[JSON, StatesError | None]:
    if mock.error is not None:
        return None, StatesError(mock.error, mock.cause)
    return mock.result, None


async def _done(
    state: AppState,
    query_language: Literal["JSONPath", "JSONata"],
    machine: dict[str, JSON],
    name: str,
    before: Inspection,
    raw: JSON,
    context: ExecutionContext,
    started: datetime,
) -> tuple[JSON, StatesError | None]:
    """The state's work done for real: (its result, None) or (None, the error it raised)."""
    stages = {s.name: s.value for s in before.stages}
    payload = next((stages[n] for n in INPUT_STAGES if n in stages), raw)
    work = work_machine(state_spec(machine, name), query_language)
    try:
        outcome = await asyncio.wait_for(
            execute(work, payload, context, real_time_host(state, started)), SYNC_LIMIT_SECONDS
        )
    except TimeoutError:
        return None, StatesError(
            "States.Timeout", f"the state's work ran longer than {SYNC_LIMIT_SECONDS:.0f} s"
        )
    if outcome.status == "SUCCEEDED":
        return outcome.output, None
    return None, StatesError(outcome.error or "States.TaskFailed", outcome.cause)


def _context(state: AppState, started: datetime) -> ExecutionContext:
    name = str(uuid.uuid4())
    return ExecutionContext(
        execution_id=execution_arn(TEST_STATE, name, state.settings.region),
        execution_name=name,
        state_machine_id=state_machine_arn(TEST_STATE, state.settings.region),
        state_machine_name=TEST_STATE,
        role_arn=EXECUTION_ROLE_ARN,
        start_time=started,
    )
