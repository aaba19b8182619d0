"""Placeholder until the validator lands: accepts everything. Replaced by the full validator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statemachine.errors import Diagnostic
from statemachine.validate_json import JsonTextError, parse_json_text


def validate_definition(definition: Mapping[str, Any]) -> tuple[Diagnostic, ...]:
    """Every problem in a decoded ASL definition (empty when it can run)."""
    return ()


def validate_definition_text(text: str) -> tuple[Diagnostic, ...]:
    """Every problem in a definition as sent (JSON text), ValidateStateMachineDefinition-style."""
    if not text.strip():
        return (
            Diagnostic("ERROR", "SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object", ""),
        )
    try:
        definition = parse_json_text(text)
    except JsonTextError as exc:
        return (Diagnostic("ERROR", "INVALID_JSON_DESCRIPTION", str(exc), exc.source),)
    if not isinstance(definition, dict):
        return (
            Diagnostic("ERROR", "SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object", ""),
        )
    return validate_definition(definition)
