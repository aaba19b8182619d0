"""Everything wrong with a definition: the validator's diagnostics, then the compiler's.

The validator finds nearly everything (schema, references, paths, JSONata); the compiler finds what
only compiling shows (e.g. an intrinsic function's arguments), so it runs once the validator passes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from statemachine.errors import DefinitionError, Diagnostic
from statemachine.loader import load_program
from statemachine.validation import validate_definition, validate_definition_text


def diagnose(decoded: Mapping[str, Any]) -> tuple[Diagnostic, ...]:
    """Every problem in a decoded definition (warnings too)."""
    found = validate_definition(decoded)
    if has_errors(found):
        return found
    try:
        load_program(decoded)
    except DefinitionError as exc:
        return found + exc.diagnostics
    return found


def diagnose_text(text: str) -> tuple[Diagnostic, ...]:
    """Every problem in a definition as JSON text, malformed JSON (in Jackson's words) included."""
    found = validate_definition_text(text)
    return found if has_errors(found) else diagnose(json.loads(text))


def has_errors(diagnostics: tuple[Diagnostic, ...]) -> bool:
    return any(d.severity == "ERROR" for d in diagnostics)
