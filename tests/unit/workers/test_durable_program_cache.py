"""The worker compiles each definition text once per process (``workers.host.program_of``)."""

from __future__ import annotations

import json

import pytest

from statemachine.errors import DefinitionError
from workers.host import program_of


def test_one_program_per_definition_text() -> None:
    text = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    assert program_of(text) is program_of(text)
    other = json.dumps({"StartAt": "Q", "States": {"Q": {"Type": "Pass", "End": True}}})
    assert program_of(other) is not program_of(text)


def test_an_invalid_definition_fails_every_time() -> None:
    for _ in range(2):
        with pytest.raises(DefinitionError):
            program_of('{"StartAt": "Missing", "States": {}}')
