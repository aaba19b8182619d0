"""The language's errors, in one tree.

Exception
├── DefinitionError      a rejected definition; carries every Diagnostic (HTTP 400)
└── StatesError          a run-time ASL error (name + cause), visible to Retry and Catch
    (names: States.Runtime, States.TaskFailed, States.Timeout, Lambda.*, or a function's errorType)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["ERROR", "WARNING"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in a definition, shaped like ValidateStateMachineDefinition's diagnostics."""

    severity: Severity
    code: str
    message: str
    location: str
    """JSON pointer into the definition, e.g. ``/States/Charge/Retry/0/BackoffRate``."""


class DefinitionError(Exception):
    """A definition that cannot run; lists every problem found, not only the first."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        self.diagnostics = diagnostics
        super().__init__("; ".join(f"{d.location or '/'}: {d.message}" for d in diagnostics))


class StatesError(Exception):
    """A run-time error with an ASL name, which Retry and Catch match on ``name``."""

    def __init__(self, name: str, cause: str | None = None) -> None:
        self.name = name
        self.cause = cause
        super().__init__(f"{name}: {cause}" if cause else name)
