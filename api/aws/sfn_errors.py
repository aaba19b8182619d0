"""Stepline's domain errors as Step Functions names and words them (the corpus' recordings where it
has them: "State Machine Does Not Exist: '<arn>'", "Invalid State Machine Definition: '...'").

The ARN in a message is the one the caller sent, as AWS echoes it.
"""

from __future__ import annotations

from typing import Any

from api.aws.errors import AwsError, common_error
from foundation.errors import Conflict, InvalidRequest, LimitExceeded
from foundation.registry.activities import ActivityNotFound
from foundation.registry.executions import ExecutionNotFound, ExecutionNotRedrivable
from foundation.registry.state_machines import StateMachineExists, StateMachineNotFound
from foundation.registry.tags import TooManyTags
from statemachine import DefinitionError, diagnose_text, invalid_definition_message, state_machine_arn


def sfn_error(exc: Exception, params: dict[str, Any], region: str) -> AwsError | None:
    """The Step Functions error for ``exc`` raised while serving ``params``; None when it is a bug."""
    if isinstance(exc, DefinitionError):
        return AwsError("InvalidDefinition", invalid_definition_message(exc.diagnostics))
    if isinstance(exc, StateMachineNotFound):
        arn = params.get("stateMachineArn") or state_machine_arn(exc.name, region)
        return AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
    if isinstance(exc, StateMachineExists):
        return AwsError(
            "StateMachineAlreadyExists",
            f"State Machine Already Exists: '{state_machine_arn(exc.name, region)}'",
        )
    if isinstance(exc, ActivityNotFound):
        arn = params.get("activityArn") or exc.name
        return AwsError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
    if isinstance(exc, ExecutionNotFound):
        return AwsError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{params.get('executionArn')}'")
    if isinstance(exc, ExecutionNotRedrivable):
        return AwsError("ExecutionNotRedrivable", f"{exc.reason}: '{params.get('executionArn')}'")
    if isinstance(exc, Conflict):
        return AwsError("ConflictException", exc.detail)
    if isinstance(exc, TooManyTags):
        return AwsError("TooManyTags", f"Too many tags: {exc}")
    if isinstance(exc, LimitExceeded):  # a payload over 256 KiB, a tag too long
        return AwsError("ValidationException", f"1 validation error detected: {exc}")
    if isinstance(exc, InvalidRequest):
        return _invalid_request(exc, params)
    return common_error(exc)


def _invalid_request(exc: InvalidRequest, params: dict[str, Any]) -> AwsError:
    """A coded problem keeps its code (InvalidExecutionInput, StateMachineTypeNotSupported); a
    definition that is not a JSON object is InvalidDefinition with the parser's words; a token we
    did not issue is InvalidToken; the rest is a ValidationException."""
    first = exc.problems[0] if exc.problems else {}
    if first.get("code"):
        return AwsError(str(first["code"]), str(first.get("message") or exc.detail.split(": ", 1)[-1]))
    location = str(first.get("location", ""))
    if location == "/definition" and isinstance(params.get("definition"), str):
        found = diagnose_text(params["definition"])
        if found:
            return AwsError("InvalidDefinition", invalid_definition_message(found))
    if location.endswith("nextToken"):
        return AwsError("InvalidToken", f"Invalid Token: '{exc.detail}'")
    return AwsError("ValidationException", exc.detail)
