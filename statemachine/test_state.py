"""What Step Functions' TestState needs around ``inspect_state``: the state under test as a program,
and the machine that does only its work (the call a Task makes, a Parallel's branches, a Map's
iterations) when no mock stands in for it.

A definition is either one state (``{"Type": ...}``, named ``TEST_STATE``; each state its
transitions name becomes a Succeed state, so ``Next`` may name any state) or a whole machine
(with ``stateName`` picking the state; its ``StartAt`` state when none is given). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statemachine import ir
from statemachine.errors import DefinitionError, Diagnostic
from statemachine.json_types import JSON
from statemachine.loader import decode_definition, load_program

TEST_STATE = "TestState"
"""The name a definition of one state runs under (``$$.State.Name``)."""
WORK = "Work"

MOCKABLE = (ir.Task, ir.Parallel, ir.Map)
"""The states that do work a mock can stand in for."""

_PROCESSING = (
    "InputPath", "Parameters", "Arguments", "ResultSelector", "ResultPath", "OutputPath", "Output",
    "Assign", "Retry", "Catch", "Next", "End", "TimeoutSecondsPath", "HeartbeatSecondsPath", "Comment",
)  # fmt: skip
"""What ``inspect_state`` applies around the work: left out of the work machine."""


def _invalid(message: str, location: str = "") -> DefinitionError:
    return DefinitionError((Diagnostic("ERROR", "SCHEMA_VALIDATION_FAILED", message, location),))


def _targets(spec: Mapping[str, Any]) -> list[str]:
    """The state names a state's transitions name (Next, Default, Choices' and Catchers' Next)."""
    found = [spec.get("Next"), spec.get("Default")]
    for key in ("Choices", "Catch"):
        entries = spec.get(key)
        if isinstance(entries, list):
            found += [e.get("Next") for e in entries if isinstance(e, dict)]
    return [t for t in found if isinstance(t, str)]


def machine_under_test(
    definition: str | Mapping[str, Any], state_name: str | None
) -> tuple[dict[str, Any], str]:
    """The machine to validate (a lone state wrapped) and the name of the state under test.

    Raises:
        DefinitionError: not a JSON object, or ``state_name`` names no state of the machine.
    """
    decoded = decode_definition(definition)
    if "States" in decoded:
        name = state_name if state_name is not None else decoded.get("StartAt")
        states = decoded.get("States")
        if not isinstance(name, str) or not isinstance(states, dict) or name not in states:
            raise _invalid(f"The state '{name}' is not in the definition's States", "/States")
        return decoded, name
    if state_name is not None:
        raise _invalid("stateName is given only with the definition of a whole state machine", "")
    targets = {t: {"Type": "Succeed"} for t in _targets(decoded) if t != TEST_STATE}
    return {"StartAt": TEST_STATE, "States": {TEST_STATE: decoded, **targets}}, TEST_STATE


def state_spec(machine: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The definition of state ``name`` anywhere in ``machine`` (branches and processors too)."""
    pending: list[Mapping[str, Any]] = [machine]
    while pending:
        block = pending.pop()
        states = block.get("States") if isinstance(block.get("States"), dict) else {}
        assert isinstance(states, dict)
        if name in states:
            return dict(states[name])
        for spec in states.values():
            if isinstance(spec, dict):
                pending += [b for b in spec.get("Branches", []) if isinstance(b, dict)]
                for key in ("ItemProcessor", "Iterator"):
                    if isinstance(spec.get(key), dict):
                        pending.append(spec[key])
    raise _invalid(f"The state '{name}' is not in the definition", "/States")


def work_machine(spec: Mapping[str, Any], query_language: ir.QueryLanguage) -> ir.Program:
    """A machine of one Task state that makes ``spec``'s call and returns its result as the output:
    the state without its input and output processing, retries or catchers. Its input is the
    state's data after InputPath and Parameters (or Arguments). (Map and Parallel states are only
    tested with a mock: ``needs_mock``.)"""
    work: dict[str, JSON] = {k: v for k, v in spec.items() if k not in _PROCESSING}
    work["End"] = True
    work.pop("QueryLanguage", None)
    return load_program({"QueryLanguage": query_language, "StartAt": WORK, "States": {WORK: work}})


def is_mockable(state: ir.State) -> bool:
    """Whether ``state`` does work (a Task's call, a Parallel's branches, a Map's iterations)."""
    return isinstance(state, MOCKABLE)


def needs_mock(state: ir.State) -> str | None:
    """Why TestState cannot run ``state``'s work for real (AWS: only with a mock), or None: a Map,
    a Parallel, an activity Task, a ``.sync`` or ``.waitForTaskToken`` Task."""
    if isinstance(state, ir.Map | ir.Parallel):
        return f"a {type(state).__name__} state"
    if isinstance(state, ir.Task):
        resource = state.resource
        if ":activity:" in resource:
            return "an activity Task"
        if resource.endswith((".sync", ".sync:2", ".waitForTaskToken")):
            return f"a Task of the {resource.rsplit('.', 1)[1]} pattern"
    return None
