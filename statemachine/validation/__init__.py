"""Validating a definition before it is compiled: every problem as a ``Diagnostic``, in AWS's words.

``definition`` walks a decoded definition against ``asl`` (which fields each state type takes, of
what kind), checking states (``states``), Choice rules (``choice``) and field values (``values``:
paths, intrinsics, JSONata); ``json_text`` decodes JSON text as strictly as AWS does. The rest of the
language imports these names from here.
"""

from statemachine.validation.definition import (
    invalid_definition_message,
    validate_definition,
    validate_definition_text,
)
from statemachine.validation.express import express_diagnostics
from statemachine.validation.json_text import JsonTextError, parse_json_text
from statemachine.validation.services import KnownOperation, sdk_diagnostics

__all__ = [
    "JsonTextError",
    "KnownOperation",
    "express_diagnostics",
    "invalid_definition_message",
    "parse_json_text",
    "sdk_diagnostics",
    "validate_definition",
    "validate_definition_text",
]
