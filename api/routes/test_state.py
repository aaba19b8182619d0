"""``POST /v1/test-state``: Step Functions' TestState on ``/v1`` (JSON values rather than JSON texts)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from api.deps import StateDep
from api.json_input import JsonRoute
from api.schemas import Schema
from api.services import test_state as service

router = APIRouter(tags=["state machines"], route_class=JsonRoute)


class MockError(Schema):
    error: str = Field(max_length=256)
    cause: str | None = Field(default=None, max_length=32768)


class MockInput(Schema):
    """Exactly one of ``result`` (any JSON value, ``null`` too) and ``error_output``."""

    result: Any = None
    error_output: MockError | None = None


class TestStateBody(Schema):
    __test__ = False  # not a pytest class

    definition: dict[str, Any] | str
    """One state, or a whole state machine with ``stateName`` naming the state."""
    input: Any = Field(default_factory=dict)
    state_name: str | None = Field(default=None, max_length=80)
    inspection_level: Literal["INFO", "DEBUG", "TRACE"] = "INFO"
    variables: dict[str, Any] = Field(default_factory=dict)
    mock: MockInput | None = None
    retrier_retry_count: int = Field(default=0, ge=0)


class TestStateResult(Schema):
    __test__ = False  # not a pytest class

    status: Literal["SUCCEEDED", "FAILED", "RETRIABLE", "CAUGHT_ERROR"]
    output: Any = None
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    inspection_data: dict[str, Any] | None = None


def _mock(given: MockInput | None) -> service.Mock | None:
    if given is None:
        return None
    if given.error_output is not None:
        return service.Mock(error=given.error_output.error, cause=given.error_output.cause)
    return service.Mock(result=given.result)


@router.post("/v1/test-state")
async def test_state(body: TestStateBody, state: StateDep) -> TestStateResult:
    request = service.TestStateRequest(
        definition=body.definition,
        input=body.input,
        state_name=body.state_name,
        level=body.inspection_level,
        variables=body.variables,
        mock=_mock(body.mock),
        retry_count=body.retrier_retry_count,
    )
    found = await service.test_state(state, request)
    return TestStateResult(
        status=found.status,
        output=found.output if found.status in ("SUCCEEDED", "CAUGHT_ERROR") else None,
        error=found.error,
        cause=found.cause,
        next_state=found.next_state,
        inspection_data=found.inspection_data() if body.inspection_level != "INFO" else None,
    )
