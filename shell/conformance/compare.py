"""Comparing what ran with what AWS recorded, under the corpus README's rules.

Expected values may be masked by the recorder: angle-bracket tokens (``<uuid:1>``) match any text,
whole-string placeholders (``date``, ``snf_role_arn``, a case's transformer replacements) match any
value, regex transformers are applied to actual strings, JSON text compares by its decoded value,
and Lambda error documents compare by ``errorType`` and ``errorMessage`` only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from statemachine import JSON

LITERAL_PLACEHOLDERS = frozenset(
    {
        "timestamp",
        "datetime",
        "date",
        "snf_role_arn",
        "sfn_role_arn",
        "111111111111",
        "RequestId",
        "X-Amzn-Trace-Id",
        "x-amzn-RequestId",
        "x-amz-crc32",
    }
)
"""Whole strings the recorder substituted for any volatile value (corpus README)."""

_TOKEN = re.compile(r"<[A-Za-z][A-Za-z0-9_:.\-]*>")
_LAMBDA_ERROR_KEYS = frozenset({"errorType", "errorMessage"})
_LAMBDA_VOLATILE_KEYS = frozenset({"requestId", "stackTrace"})

REGION_STARTS = frozenset({"ParallelStateStarted", "MapStateStarted"})
REGION_ENDS = frozenset(
    {
        "ParallelStateSucceeded",
        "ParallelStateFailed",
        "ParallelStateAborted",
        "ParallelStateExited",
        "MapStateSucceeded",
        "MapStateFailed",
        "MapStateAborted",
    }
)


@dataclass(frozen=True, slots=True)
class Difference:
    """One way the actual result differs from AWS's."""

    field: str
    """status, output, error, cause, history or diagnostics."""
    location: str
    """JSON pointer inside the field ('' for the whole value)."""
    expected: object
    """A JSON value, or a list of event types."""
    actual: object
    note: str = ""
    warning: bool = False
    """A weak signal (e.g. a cause text written by the Lambda service): reported, not failed."""

    def describe(self) -> str:
        """One readable line (two for long values)."""
        where = f"{self.field}{self.location}"
        kind = "warning" if self.warning else "differs"
        note = f" ({self.note})" if self.note else ""
        exp, act = _short(self.expected), _short(self.actual)
        return f"{where} {kind}{note}:\n      expected {exp}\n      actual   {act}"


def _short(value: object, limit: int = 300) -> str:
    text = value if isinstance(value, str) and value.startswith("<") else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True, slots=True)
class Matcher:
    """Case-specific masking rules used while comparing."""

    placeholders: dict[str, tuple[str, ...]]
    replacements: frozenset[str] = frozenset()
    regex_transformers: tuple[tuple[str, str], ...] = ()
    accept_decoded_strings: bool = False

    def compare(self, field: str, base: str, expected: JSON, actual: JSON) -> list[Difference]:
        """Differences between ``expected`` (at pointer ``base`` in the case) and ``actual``."""
        out: list[Difference] = []
        self._walk(field, base, "", expected, actual, out)
        return out

    def _walk(self, field: str, base: str, loc: str, exp: JSON, act: JSON, out: list[Difference]) -> None:
        if isinstance(exp, str):
            found = self._compare_string(base + loc, loc, exp, act)
            if found == []:
                out.append(Difference(field, loc, exp, act))
            elif found:
                out.extend(Difference(field, d.location, d.expected, d.actual, d.note) for d in found)
            return
        if isinstance(act, str) and self.accept_decoded_strings and isinstance(exp, (dict, list)):
            decoded = _decode(act)
            if decoded is not _NotJson.MARK:
                self._walk(field, base, loc, exp, decoded, out)
                return
        if isinstance(exp, dict):
            if not isinstance(act, dict):
                out.append(Difference(field, loc, exp, act, "not an object"))
                return
            keys = exp.keys() | act.keys()
            if exp.keys() >= _LAMBDA_ERROR_KEYS:
                keys -= _LAMBDA_VOLATILE_KEYS
            for key in sorted(keys):
                sub = f"{loc}/{_escape(key)}"
                if key not in act:
                    out.append(Difference(field, sub, exp[key], "<missing>"))
                elif key not in exp:
                    out.append(Difference(field, sub, "<absent>", act[key], "unexpected field"))
                else:
                    self._walk(field, base, sub, exp[key], act[key], out)
            return
        if isinstance(exp, list):
            if not isinstance(act, list):
                out.append(Difference(field, loc, exp, act, "not an array"))
            elif len(exp) != len(act):
                out.append(Difference(field, loc, exp, act, f"{len(exp)} items expected, {len(act)} found"))
            else:
                for i, (e, a) in enumerate(zip(exp, act, strict=True)):
                    self._walk(field, base, f"{loc}/{i}", e, a, out)
            return
        if not _scalar_equal(exp, act):
            out.append(Difference(field, loc, exp, act))

    def _compare_string(self, pointer: str, loc: str, exp: str, act: JSON) -> list[Difference] | None:
        """None when ``act`` matches the (maybe masked) string ``exp``; else the differences."""
        if act == exp or exp in LITERAL_PLACEHOLDERS or exp in self.replacements:
            return None
        if not isinstance(act, str):
            decoded = _decode(exp) if self.accept_decoded_strings else _NotJson.MARK
            if decoded is _NotJson.MARK or isinstance(decoded, str):
                return []
            inner: list[Difference] = []
            self._walk("", "", loc, decoded, act, inner)
            return inner or None
        candidates = (act, *self.transforms(act))
        if exp in candidates:
            return None
        tokens = self.placeholders.get(pointer, ()) + tuple(_TOKEN.findall(exp))
        if tokens:
            pattern = _wildcard(exp, tokens)
            if any(pattern.fullmatch(c) for c in candidates):
                return None
        if exp[:1] in "{[" and act[:1] in "{[":
            e, a = _decode(exp), _decode(act)
            if e is not _NotJson.MARK and a is not _NotJson.MARK:
                inner = []
                self._walk("", "", loc, e, a, inner)
                return inner or None
        return []

    def transforms(self, text: str) -> tuple[str, ...]:
        """``text`` after the recorder's regex transformers, applied to it as it stood in the snapshot.

        The recorder ran them over the serialized snapshot, where a nested JSON string is escaped
        (``\\"requestId\\"``), so both the raw and the escaped form are tried.
        """
        if not self.regex_transformers:
            return ()
        raw, escaped = text, json.dumps(text)
        for pattern, replacement in self.regex_transformers:
            raw = _substitute(pattern, replacement, raw)
            escaped = _substitute(pattern, replacement, escaped)
        try:
            unescaped = json.loads(escaped)
        except json.JSONDecodeError:
            unescaped = escaped[1:-1]
        return (raw, unescaped) if isinstance(unescaped, str) else (raw,)


def _substitute(pattern: str, replacement: str, text: str) -> str:
    try:
        return re.sub(pattern, replacement.replace("\\", "\\\\"), text)
    except re.error:
        return text.replace(pattern, replacement)


class _NotJson(Enum):
    """What ``_decode`` returns for text that is not JSON (``None`` is JSON's null)."""

    MARK = 0


def _decode(text: str) -> JSON | _NotJson:
    try:
        value: JSON = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return _NotJson.MARK
    return value


def _wildcard(text: str, tokens: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(t) for t in sorted(set(tokens), key=len, reverse=True))
    pieces = re.split(f"(?:{alternatives})", text)
    return re.compile(".*".join(re.escape(p) for p in pieces), re.DOTALL)


def _scalar_equal(exp: JSON, act: JSON) -> bool:
    if isinstance(exp, bool) or isinstance(act, bool):
        return type(exp) is type(act) and exp == act
    if isinstance(exp, (int, float)) and isinstance(act, (int, float)):
        return exp == act
    return bool(exp is None and act is None)


def normalize_history(types: Sequence[str]) -> list[str]:
    """Event types with each outermost Parallel/Map region sorted, so interleaving does not matter."""
    out: list[str] = []
    i = 0
    while i < len(types):
        out.append(types[i])
        if types[i] not in REGION_STARTS:
            i += 1
            continue
        depth, j = 1, i + 1
        while j < len(types):
            if types[j] in REGION_STARTS:
                depth += 1
            elif types[j] in REGION_ENDS:
                depth -= 1
                if depth == 0:
                    break
            j += 1
        out.extend(sorted(types[i + 1 : j]))
        i = j
    return out


def compare_history(
    expected: Sequence[str], actual: Sequence[str], *, prefix_only: bool, parallel_sorted: bool = False
) -> list[Difference]:
    """The event-type sequences, as multisets inside Parallel/Map regions (README rule 5).

    ``parallel_sorted``: the recorder sorted (and deduplicated) everything after the first
    ParallelStateStarted and dropped some Parallel end events, so only the order before it and
    the set of event types after it can be compared.
    """
    if parallel_sorted and "ParallelStateStarted" in expected and "ParallelStateStarted" in actual:
        cut_e, cut_a = expected.index("ParallelStateStarted") + 1, actual.index("ParallelStateStarted") + 1
        head = compare_history(expected[:cut_e], actual[:cut_a], prefix_only=False)
        tail_e = sorted(set(expected[cut_e:]) - _SORTING_DROPS)
        tail_a = sorted(set(actual[cut_a:]) - _SORTING_DROPS)
        if head or tail_e == tail_a:
            return head
        missing, extra = sorted(set(tail_e) - set(tail_a)), sorted(set(tail_a) - set(tail_e))
        note = f"event types after ParallelStateStarted; missing {missing}, unexpected {extra}"
        return [Difference("history", f"/{cut_e}", tail_e, tail_a, note)]
    exp, act = normalize_history(expected), normalize_history(actual)
    if prefix_only:
        act = act[: len(exp)]
    if exp == act:
        return []
    first = next(
        (i for i, (e, a) in enumerate(zip(exp, act, strict=False)) if e != a), min(len(exp), len(act))
    )
    lo = max(0, first - 2)
    return [
        Difference(
            "history",
            f"/{first}",
            exp[lo : first + 4],
            act[lo : first + 4],
            f"event types from #{lo}: {len(exp)} events expected, {len(act)} found",
        )
    ]


_SORTING_DROPS = frozenset({"ParallelStateSucceeded", "ParallelStateFailed", "ParallelStateAborted"})
