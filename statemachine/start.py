"""The checks StartExecution and StartSyncExecution make before anything runs, with AWS's codes.

Pure, so the HTTP API and the conformance runner refuse the same requests with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from statemachine.validation import JsonTextError, parse_json_text

MAX_INPUT_BYTES = 256 * 1024
"""Step Functions' limit on an execution's input (and on any state's payload)."""


@dataclass(frozen=True, slots=True)
class StartError:
    """A refused start: the API error code and its message."""

    code: str
    message: str


def check_start(state_machine_type: str, input_text: str | None, sync: bool) -> StartError | None:
    """Why this start request is refused, or None. ``input_text`` None means no input (``{}``)."""
    if sync and state_machine_type != "EXPRESS":
        return StartError(
            "StateMachineTypeNotSupported", "This operation is not supported by this type of state machine"
        )
    if input_text is None:
        return None
    if len(input_text.encode("utf-8", "surrogatepass")) > MAX_INPUT_BYTES:
        return StartError(
            "ValidationException",
            "1 validation error detected: Value at 'input' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_INPUT_BYTES}",
        )
    if not input_text.strip():
        return _invalid_input("Invalid execution input.")
    try:
        parse_json_text(input_text)
    except JsonTextError as exc:
        return _invalid_input(exc.message)
    return None


def _invalid_input(reason: str) -> StartError:
    return StartError("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{reason}'")
