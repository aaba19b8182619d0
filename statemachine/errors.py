"""The language's errors, and the root of the project's exception tree (the whole tree is drawn in
``foundation/errors.py``; the language sits at the bottom, so the root lives here).

Exception
└── SteplineError        every error Stepline raises on purpose
    ├── DefinitionError  a rejected definition; carries every Diagnostic (HTTP 400)
    ├── StatesError      a run-time ASL error (name + cause), visible to Retry and Catch
    │   (names: States.Runtime, States.TaskFailed, States.Timeout, Lambda.*, or a function's errorType)
    └── InvalidValue     (also a ValueError) a value that cannot be used, e.g. an ARN (``arns.ArnError``)
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


class SteplineError(Exception):
    """The root of every error Stepline raises on purpose (``foundation/errors.py`` draws the tree)."""


class DefinitionError(SteplineError):
    """A definition that cannot run; lists every problem found, not only the first."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        self.diagnostics = diagnostics
        super().__init__("; ".join(f"{d.location or '/'}: {d.message}" for d in diagnostics))


class InvalidValue(SteplineError, ValueError):
    """A value that cannot be used (an ARN, a URL, a path, a package); the message says why, and the
    caller, which knows where the value came from, names the field."""


class StatesError(SteplineError):
    """A run-time error with an ASL name, which Retry and Catch match on ``name``."""

    def __init__(self, name: str, cause: str | None = None) -> None:
        self.name = name
        self.cause = cause
        super().__init__(f"{name}: {cause}" if cause else name)
