"""Reading conformance cases: one JSON file per case, in the format of the corpus README.

A case file that cannot be read becomes a :class:`CaseFormatError` naming the file and the field,
so a broken corpus is reported, never a stack trace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from statemachine import JSON, SteplineError

KINDS = frozenset({"execution", "start_error", "create_error", "validate"})


class CaseFormatError(SteplineError):
    """A case file that does not follow the corpus format."""


@dataclass(frozen=True, slots=True)
class Expected:
    """What AWS returned for the case."""

    status: str
    output: JSON = None
    error: str | None = None
    cause: JSON = None
    output_format: str = "json"


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One Lambda function a case needs, described by what its handler does."""

    name: str
    arn: str
    behaviour_kind: str
    behaviour: str = ""
    runtime: str = "python3.12"


@dataclass(frozen=True, slots=True)
class Case:
    """One recorded AWS behaviour to reproduce."""

    id: str
    kind: str
    expected: Expected
    path: Path
    state_machine_type: str = "STANDARD"
    definition: JSON = None
    definition_raw: str | None = None
    input: JSON = None
    input_raw: str | None = None
    sync: bool = False
    expected_history_types: tuple[str, ...] | None = None
    functions: tuple[FunctionSpec, ...] = ()
    tags: tuple[str, ...] = ()
    placeholders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """JSON pointer under ``/expected`` -> the masking tokens its string contains."""
    replacements: frozenset[str] = frozenset()
    """Strings the recorder substituted for volatile values (``snapshot_transformers``)."""
    regex_transformers: tuple[tuple[str, str], ...] = ()
    """(pattern, replacement) the recorder applied to the recorded text."""
    accept_decoded_strings: bool = False
    """The recorder may have decoded nested JSON strings one level (custom transformers)."""
    parallel_events_sorted: bool = False
    """The recorder sorted and deduplicated the history after ParallelStateStarted."""
    wait_budget_seconds: float = 0.0
    """How long the case may legitimately wait (Wait states, retry back-off)."""

    @property
    def input_text(self) -> str | None:
        """The execution input as the API would receive it (text)."""
        if self.input_raw is not None:
            return self.input_raw
        return None if self.input is None else json.dumps(self.input)

    @property
    def definition_text(self) -> str:
        """The definition as the API would receive it (text)."""
        if self.definition_raw is not None:
            return self.definition_raw
        return json.dumps(self.definition)


def load_cases(directory: Path, only: str | None = None) -> list[Case]:
    """Every ``*.json`` case in ``directory`` (sorted by id), optionally only ids containing ``only``."""
    if not directory.is_dir():
        raise CaseFormatError(f"{directory}: not a directory of conformance cases")
    cases = []
    for path in sorted(directory.glob("*.json")):
        if only is not None and only not in path.stem:
            continue
        case = load_case(path)
        if only is None or only in case.id:
            cases.append(case)
    return sorted(cases, key=lambda c: c.id)


def load_case(path: Path) -> Case:
    """One case file, checked field by field."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CaseFormatError(f"{path}: cannot read the case: {exc}") from None
    if not isinstance(raw, dict):
        raise CaseFormatError(f"{path}: a case must be a JSON object")
    try:
        return _parse_case(raw, path)
    except (KeyError, TypeError, ValueError) as exc:
        raise CaseFormatError(f"{path}: malformed case: {exc!r}") from None


def _parse_case(raw: dict[str, Any], path: Path) -> Case:
    """``raw`` as read: its shape is checked by using it (KeyError, TypeError: CaseFormatError)."""
    kind = raw["kind"]
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {sorted(KINDS)}")
    exp = raw["expected"]
    expected = Expected(
        status=str(exp["status"]),
        output=exp.get("output"),
        error=exp.get("error"),
        cause=exp.get("cause"),
        output_format=exp.get("output_format") or "json",
    )
    transformers = raw.get("snapshot_transformers") or []
    replacements = {str(t["replacement"]) for t in transformers if t.get("replacement") is not None}
    regexes = []
    for t in transformers:
        if t.get("type") == "regex" and t.get("pattern") and t.get("replacement") is not None:
            regexes.append((str(t["pattern"]), str(t["replacement"])))
        if t.get("type") == "util.regex" and len(t.get("args") or []) == 2:
            regexes.append((str(t["args"][0]), str(t["args"][1])))
            replacements.add(str(t["args"][1]))
    functions = tuple(
        FunctionSpec(
            name=name,
            arn=str(spec.get("arn") or ""),
            behaviour_kind=str(spec["behaviour_kind"]),
            behaviour=str(spec.get("behaviour") or ""),
            runtime=str(spec.get("runtime") or "python3.12"),
        )
        for name, spec in (raw.get("functions") or {}).items()
    )
    timing = raw.get("timing") or {}
    tags = tuple(str(t) for t in raw.get("tags") or ())
    history = raw.get("expected_history_event_types")
    return Case(
        id=str(raw["id"]),
        kind=kind,
        expected=expected,
        path=path,
        state_machine_type=str(raw.get("state_machine_type") or "STANDARD"),
        definition=raw.get("definition"),
        definition_raw=raw.get("definition_raw"),
        input=raw.get("input"),
        input_raw=raw.get("input_raw"),
        sync=raw.get("start_mode") == "sync",
        expected_history_types=None if history is None else tuple(str(t) for t in history),
        functions=functions,
        tags=tags,
        placeholders={
            str(p["path"]): tuple(str(t) for t in p["tokens"]) for p in raw.get("placeholders") or ()
        },
        replacements=frozenset(replacements),
        regex_transformers=tuple(regexes),
        accept_decoded_strings="custom_snapshot_transformer" in tags
        or any(t.get("type") == "generic" for t in transformers),
        parallel_events_sorted=any(t.get("type") == "parallel_events_sorted" for t in transformers),
        wait_budget_seconds=float(timing.get("max_wait_seconds") or 0)
        + float(timing.get("retry_max_total_seconds") or 0),
    )
