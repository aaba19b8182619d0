"""Definition text or dict -> ``ir.Program``: decode, validate (every problem at once), compile."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from statemachine import ir
from statemachine.compiler import CompileError, compile_program
from statemachine.errors import DefinitionError, Diagnostic


def decode_definition(definition: str | Mapping[str, Any]) -> dict[str, Any]:
    """The definition as a dict.

    Raises:
        DefinitionError: malformed JSON (the diagnostic names line and column) or not an object.
    """
    if isinstance(definition, Mapping):
        return dict(definition)
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


def load_program(definition: str | Mapping[str, Any]) -> ir.Program:
    """Decode, validate and compile a state machine definition.

    Raises:
        DefinitionError: malformed JSON, or any ERROR diagnostic from validation or compilation.
    """
    from statemachine.validate import validate_definition

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
