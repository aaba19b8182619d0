"""Mocked responses for whole executions, in AWS Step Functions Local's MockConfigFile format.

```
{"StateMachines": {"<machine>": {"TestCases": {"<case>": {"<state>": "<response name>"}}}},
 "MockedResponses": {"<response name>": {"0": {"Return": <result>},
                                         "1-2": {"Throw": {"Error": "...", "Cause": "..."}}}}}
```

An execution started as ``<machine ARN>#<case>`` carries its case's responses (``TestCase``); each
time one of those states' Task makes its call, the response for that call's index (0 for the first
call of that state in the execution, then 1, 2...: retries see successive responses) stands in for
it and no call is made; past the last index, the last response repeats. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from statemachine.errors import StatesError
from statemachine.json_types import JSON

_INDEX = re.compile(r"(\d{1,6})(?:-(\d{1,6}))?")


class MockConfigError(ValueError):
    """The document is not a MockConfigFile; ``location`` is a JSON pointer into it."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{message} at {location or '/'}")


@dataclass(frozen=True)
class Response:
    """One mocked response: a result, or an error (``error`` set)."""

    result: JSON = None
    error: str | None = None
    cause: str | None = None

    def outcome(self) -> JSON:
        """The result; raises the error for a Throw."""
        if self.error is not None:
            raise StatesError(self.error, self.cause)
        return self.result


def _response(value: Any, where: str) -> Response:
    if not isinstance(value, dict) or len(value) != 1 or not ({"Return", "Throw"} & value.keys()):
        raise MockConfigError(where, "a mocked response is an object with either Return or Throw")
    if "Return" in value:
        return Response(result=value["Return"])
    thrown = value["Throw"]
    if not isinstance(thrown, dict) or not isinstance(thrown.get("Error"), str):
        raise MockConfigError(f"{where}/Throw", "Throw needs an Error (a string) and may have a Cause")
    cause = thrown.get("Cause")
    if cause is not None and not isinstance(cause, str):
        raise MockConfigError(f"{where}/Throw/Cause", "Cause must be a string")
    return Response(error=thrown["Error"], cause=cause)


def _responses(value: Any, where: str) -> tuple[Response, ...]:
    """A MockedResponses entry as one response per call index, 0..n without gaps."""
    if not isinstance(value, dict) or not value:
        raise MockConfigError(where, 'a mocked response maps call indexes ("0", "1-2") to responses')
    by_index: dict[int, Response] = {}
    for key, entry in value.items():
        matched = _INDEX.fullmatch(key)
        first = int(matched.group(1)) if matched else -1
        last = int(matched.group(2) or first) if matched else -1
        if matched is None or last < first or last > 10_000:
            raise MockConfigError(f"{where}/{key}", 'an index is a number or a range such as "1-2"')
        response = _response(entry, f"{where}/{key}")
        for index in range(first, last + 1):
            if index in by_index:
                raise MockConfigError(f"{where}/{key}", f"index {index} is given twice")
            by_index[index] = response
    if sorted(by_index) != list(range(len(by_index))):
        raise MockConfigError(where, "the indexes must run from 0 without gaps")
    return tuple(by_index[i] for i in range(len(by_index)))


@dataclass(frozen=True)
class MockConfig:
    """A checked MockConfigFile: each machine's test cases, each naming a response for some states."""

    cases: dict[str, dict[str, dict[str, tuple[Response, ...]]]]
    """machine -> case -> state -> responses by call index."""

    def test_case(self, machine: str, case: str) -> dict[str, tuple[Response, ...]] | None:
        return self.cases.get(machine, {}).get(case)


def parse_config(document: Any) -> MockConfig:
    """Check a MockConfigFile (decoded JSON); MockConfigError names the first problem and where."""
    if not isinstance(document, dict):
        raise MockConfigError("", "a mock configuration is a JSON object")
    machines = document.get("StateMachines", {})
    named = document.get("MockedResponses", {})
    if not isinstance(machines, dict):
        raise MockConfigError("/StateMachines", "StateMachines must be an object")
    if not isinstance(named, dict):
        raise MockConfigError("/MockedResponses", "MockedResponses must be an object")
    responses = {name: _responses(value, f"/MockedResponses/{name}") for name, value in named.items()}
    cases: dict[str, dict[str, dict[str, tuple[Response, ...]]]] = {}
    for machine, spec in machines.items():
        where = f"/StateMachines/{machine}/TestCases"
        test_cases = spec.get("TestCases") if isinstance(spec, dict) else None
        if not isinstance(test_cases, dict):
            raise MockConfigError(where, "each state machine has TestCases, an object")
        for case, states in test_cases.items():
            if not isinstance(states, dict):
                raise MockConfigError(
                    f"{where}/{case}", "a test case maps state names to mocked response names"
                )
            for state, response in states.items():
                if response not in responses:
                    raise MockConfigError(
                        f"{where}/{case}/{state}", f"no mocked response is named {response!r}"
                    )
            cases.setdefault(machine, {})[case] = {s: responses[r] for s, r in states.items()}
    return MockConfig(cases)


@dataclass
class TestCase:
    """One execution's mocked states and how many calls each has made."""

    __test__ = False  # not a pytest class

    responses: Mapping[str, tuple[Response, ...]]
    calls: dict[str, int] = field(default_factory=dict)

    def mocks(self, state: str) -> bool:
        """Whether ``state``'s Task calls are mocked."""
        return bool(self.responses.get(state))

    def next_response(self, state: str) -> Response | None:
        """The response for this call of ``state``'s Task (None: the state is not mocked)."""
        found = self.responses.get(state)
        if not found:
            return None
        index = self.calls.get(state, 0)
        self.calls[state] = index + 1
        return found[min(index, len(found) - 1)]

    def to_json(self) -> dict[str, JSON]:
        return {
            state: [
                {"Throw": {"Error": r.error, "Cause": r.cause}}
                if r.error is not None
                else {"Return": r.result}
                for r in responses
            ]
            for state, responses in self.responses.items()
        }

    @staticmethod
    def from_json(value: Mapping[str, Any]) -> TestCase:
        return TestCase(
            {state: tuple(_response(r, f"/{state}") for r in entries) for state, entries in value.items()}
        )
