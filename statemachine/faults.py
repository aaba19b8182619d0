"""Run-time faults raised while evaluating a state's fields, before the interpreter names the state.

AWS prefixes such errors with ``An error occurred while executing the state 'X' (entered at the event
id #N).``; the evaluators below the interpreter do not know the state, so they raise ``EvaluationFault``
and the interpreter adds the prefix (and, for JSONata, an EvaluationFailed event).
"""

from __future__ import annotations

from statemachine.errors import StatesError

RUNTIME = "States.Runtime"
QUERY_EVALUATION = "States.QueryEvaluationError"
DATA_LIMIT = "States.DataLimitExceeded"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"


class EvaluationFault(StatesError):
    """A States.Runtime / QueryEvaluationError / IntrinsicFailure raised while evaluating a field."""

    def __init__(self, name: str, message: str, location: str | None = None) -> None:
        super().__init__(name, message)
        self.message = message
        self.location = location
        """The field (``Arguments/FunctionName``) for EvaluationFailed events, when known."""


def runtime_fault(message: str) -> EvaluationFault:
    """A States.Runtime fault with AWS's message text (without the state prefix)."""
    return EvaluationFault(RUNTIME, message)


def with_state(error: StatesError, state_name: str, entered_event_id: int) -> StatesError:
    """The error as AWS reports it from inside a state: the cause prefixed with where it happened."""
    prefix = (
        f"An error occurred while executing the state '{state_name}' "
        f"(entered at the event id #{entered_event_id})."
    )
    cause = f"{prefix} {error.cause}" if error.cause else prefix
    out = StatesError(error.name, cause)
    return out


class TerminalError(StatesError):
    """An error no Retry or Catch may handle (an oversized state output, the history limit)."""
