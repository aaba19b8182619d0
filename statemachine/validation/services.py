"""AWS SDK integrations checked against a catalog of operations the caller supplies (the API passes
botocore's models; the language itself knows no service): an ``aws-sdk:<service>:<action>`` Resource
naming an operation that does not exist is refused at creation, as Step Functions refuses it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from statemachine.errors import Diagnostic
from statemachine.service_resources import AWS_SDK, not_recognized, service_resource

KnownOperation = Callable[[str, str], bool]
"""(service, action) as a Resource names them (``s3``, ``getObject``) -> whether the SDK has it."""


def sdk_diagnostics(definition: Mapping[str, Any], known: KnownOperation) -> tuple[Diagnostic, ...]:
    """One diagnostic per ``aws-sdk`` Task whose operation ``known`` does not know, at its Resource."""
    found = []
    for location, resource in _task_resources(definition, ""):
        target = service_resource(resource)
        if target is not None and target.kind == AWS_SDK and not known(target.service, target.action):
            found.append(
                Diagnostic(
                    "ERROR", "SCHEMA_VALIDATION_FAILED", not_recognized(resource), f"{location}/Resource"
                )
            )
    return tuple(found)


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
