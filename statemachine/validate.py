"""Placeholder until the validator lands: accepts everything. Replaced by the full validator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statemachine.errors import Diagnostic


def validate_definition(definition: Mapping[str, Any]) -> tuple[Diagnostic, ...]:
    """Every problem in a decoded ASL definition (empty when it can run)."""
    return ()
