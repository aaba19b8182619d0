"""Definition text or dict -> ``ir.Program``: decode, validate (every problem at once), compile."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from statemachine import ir
from statemachine.compiler import CompileError, compile_program
from statemachine.errors import DefinitionError, Diagnostic
from statemachine.validation import validate_definition

MAX_DEFINITION_BYTES = 1_048_576
"""Step Functions' limit on a definition's size (1 MiB)."""


def decode_definition(definition: str | Mapping[str, Any]) -> dict[str, Any]:
    """The definition as a dict.

    Raises:
        DefinitionError: malformed JSON (the diagnostic names line and column), not an object,
            or larger than ``MAX_DEFINITION_BYTES``.
    """
    if isinstance(definition, Mapping):
        _check_size(len(json.dumps(definition, separators=(",", ":")).encode()))
        return dict(definition)
    _check_size(len(definition.encode()))
    try:
        decoded = json.loads(definition)
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            (
                Diagnostic(
                    "ERROR",
                    "INVALID_JSON_DESCRIPTION",
                    f"Malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                    "",
                ),
            )
        ) from None
    except RecursionError:
        raise DefinitionError(
            (Diagnostic("ERROR", "INVALID_JSON_DESCRIPTION", "JSON nested too deeply", ""),)
        ) from None
    if not isinstance(decoded, dict):
        raise DefinitionError(
            (Diagnostic("ERROR", "SCHEMA_VALIDATION_FAILED", "The definition must be a JSON object", ""),)
        )
    return decoded


def _check_size(size: int) -> None:
    if size > MAX_DEFINITION_BYTES:
        raise DefinitionError(
            (
                Diagnostic(
                    "ERROR",
                    "SCHEMA_VALIDATION_FAILED",
                    f"The definition is {size} bytes; the limit is {MAX_DEFINITION_BYTES} bytes",
                    "",
                ),
            )
        )


def load_program(definition: str | Mapping[str, Any]) -> ir.Program:
    """Decode, validate and compile a state machine definition.

    Raises:
        DefinitionError: malformed JSON, or any ERROR diagnostic from validation or compilation.
    """
    decoded = decode_definition(definition)
    diagnostics = validate_definition(decoded)
    errors = tuple(d for d in diagnostics if d.severity == "ERROR")
    if errors:
        raise DefinitionError(errors)
    try:
        return compile_program(decoded)
    except CompileError as exc:
        raise DefinitionError(
            (Diagnostic("ERROR", "SCHEMA_VALIDATION_FAILED", str(exc), exc.location),)
        ) from None
    except RecursionError:
        raise DefinitionError(
            (Diagnostic("ERROR", "SCHEMA_VALIDATION_FAILED", "The definition is nested too deeply", ""),)
        ) from None
