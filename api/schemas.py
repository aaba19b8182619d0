"""Request and response bodies. JSON field names are camelCase, as Step Functions spells them;
``input`` and ``output`` travel as JSON values, not strings."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

NAME_PATTERN = r"^[A-Za-z0-9_.\-]{1,80}$"
"""Names of state machines and executions: no colon (ids are ``machine:execution``), no spaces."""

StateMachineType = Literal["STANDARD", "EXPRESS"]
Status = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
STATUSES: tuple[Status, ...] = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class Schema(BaseModel):
    """camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Diagnostic(Schema):
    severity: str
    code: str
    message: str
    location: str | None = None
    """Absent when the problem has no place (e.g. the text is not a JSON object), as in Step Functions."""


class StateMachineCreate(Schema):
    name: str = Field(pattern=NAME_PATTERN)
    definition: dict[str, Any] | str
    """The ASL definition: a JSON object, or its JSON text."""
    type: StateMachineType = "STANDARD"
    description: str | None = None
    logging_configuration: dict[str, Any] | None = None
    """Step Functions' ``loggingConfiguration`` (``api.services.execution_logs``; none: OFF)."""


class StateMachineUpdate(Schema):
    definition: dict[str, Any] | str
    description: str | None = None


class StateMachinePublic(Schema):
    name: str
    state_machine_arn: str
    type: StateMachineType
    version: int
    latest_version: int
    definition: dict[str, Any]
    description: str | None
    creation_date: datetime
    version_date: datetime


class StateMachineSummary(Schema):
    name: str
    state_machine_arn: str
    type: StateMachineType
    latest_version: int
    creation_date: datetime


class StateMachineList(Schema):
    state_machines: list[StateMachineSummary]
    next_token: str | None = None


class ValidateRequest(Schema):
    definition: dict[str, Any] | str


class ValidateResponse(Schema):
    result: Literal["OK", "FAIL"]
    diagnostics: list[Diagnostic]
    truncated: bool = False
    """Whether diagnostics were cut short (never, here), as ValidateStateMachineDefinition says."""


class ExecutionInputFields(Schema):
    input: Any = None
    """The execution's input (any JSON value; ``{}`` when absent)."""
    input_text: str | None = None
    """Or the input as JSON text, as Step Functions' StartExecution takes it (not both)."""


class StartExecution(ExecutionInputFields):
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    test_case: str | None = Field(default=None, pattern=NAME_PATTERN)
    """A test case of the mock configuration (``stateMachineArn#TestCase`` on the AWS endpoint):
    its mocked Task states make no call."""


class SyncExecutionRequest(ExecutionInputFields):
    pass


class ExecutionStarted(Schema):
    execution_id: str
    execution_arn: str
    name: str
    state_machine: str
    version: int
    start_date: datetime
    status: Status
    alias: str | None = None
    """The alias it was started through; ``published_version`` is the version the alias chose."""
    published_version: int | None = None


class ExecutionPublic(Schema):
    execution_id: str
    execution_arn: str
    name: str
    status: Status
    input: Any
    output: Any = None
    error: str | None = None
    cause: str | None = None
    start_date: datetime
    stop_date: datetime | None = None
    state_machine: str
    version: int
    started_by: str | None = None
    """The ARN of the execution whose Task state started this one (``states:startExecution``)."""
    alias: str | None = None
    """The alias it was started through; ``published_version`` is the version the alias chose."""
    published_version: int | None = None
    redrive_count: int = 0
    redrive_date: datetime | None = None


class ExecutionSummary(Schema):
    execution_id: str
    execution_arn: str
    name: str
    status: Status
    state_machine: str
    version: int
    start_date: datetime
    stop_date: datetime | None = None


class ExecutionList(Schema):
    executions: list[ExecutionSummary]
    next_token: str | None = None


class MachineExecutionCounts(Schema):
    name: str
    total: int
    counts: dict[str, int]
    """Every status, zero included."""


class ExecutionCounts(Schema):
    state_machines: list[MachineExecutionCounts]


class SyncExecutionResult(Schema):
    execution_arn: str
    name: str
    state_machine: str
    version: int
    status: Status
    input: Any
    output: Any = None
    error: str | None = None
    cause: str | None = None
    start_date: datetime
    stop_date: datetime


class StopExecution(Schema):
    error: str | None = None
    cause: str | None = None


class StopResult(Schema):
    status: Status
    stop_date: datetime | None


class History(Schema):
    events: list[dict[str, Any]]
    next_token: str | None = None


class Health(Schema):
    status: Literal["ok", "degraded"]
    database: str
    temporal: str
