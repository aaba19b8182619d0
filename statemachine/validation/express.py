"""What an Express state machine may not do: wait. AWS's Express workflows run service integrations
request-response only: no ``.sync`` or ``.waitForTaskToken`` pattern and no activities, anywhere in
the definition (Parallel branches and Map processors included). Checked when a machine of type
EXPRESS is created or updated, or validated with that type; and, whatever the machine's type, in the
ItemProcessor of a Distributed Map whose child executions are EXPRESS (``ProcessorConfig``), which
AWS refuses alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from statemachine.errors import Diagnostic

_ACTIVITY = re.compile(r"arn:aws[\w-]*:states:[\w-]*:\d*:activity:.+")
_PATTERNS = (".waitForTaskToken", ".sync:2", ".sync")


def express_diagnostics(definition: Mapping[str, Any]) -> tuple[Diagnostic, ...]:
    """One diagnostic per Task an Express machine cannot run, at its ``Resource``."""
    found = []
    for location, resource in _task_resources(definition, ""):
        problem = _problem(resource)
        if problem is not None:
            found.append(Diagnostic("ERROR", "SCHEMA_VALIDATION_FAILED", problem, f"{location}/Resource"))
    return tuple(found)


def express_processor_diagnostics(processor: Mapping[str, Any], location: str) -> tuple[Diagnostic, ...]:
    """The same for a Distributed Map's ``ItemProcessor`` (at ``location``) whose child executions are
    EXPRESS (``ProcessorConfig.ExecutionType``), whatever the machine's own type."""
    found = []
    for where, resource in _task_resources(processor, location):
        problem = _problem(resource)
        if problem is not None:
            message = f"{problem} (the ItemProcessor's ProcessorConfig.ExecutionType is EXPRESS)"
            found.append(Diagnostic("ERROR", "SCHEMA_VALIDATION_FAILED", message, f"{where}/Resource"))
    return tuple(found)


def _problem(resource: str) -> str | None:
    if _ACTIVITY.fullmatch(resource):
        return "Express state machines do not support activities"
    for pattern in _PATTERNS:
        if resource.startswith("arn:") and resource.endswith(pattern):
            name = ".sync" if pattern.startswith(".sync") else pattern
            return f"Express state machines do not support the '{name}' service integration pattern"
    return None


def _task_resources(block: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, str]]:
    states = block.get("States")
    if not isinstance(states, Mapping):
        return
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        where = f"{prefix}/States/{name}"
        if state.get("Type") == "Task" and isinstance(state.get("Resource"), str):
            yield where, state["Resource"]
        for index, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, Mapping):
                yield from _task_resources(branch, f"{where}/Branches/{index}")
        for key in ("ItemProcessor", "Iterator"):
            processor = state.get(key)
            if isinstance(processor, Mapping):
                yield from _task_resources(processor, f"{where}/{key}")
