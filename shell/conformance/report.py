"""Printing results: each failing case's differences, a pass table by tag, then ``N passed, M failed``."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from shell.conformance.runner import CaseResult


def print_report(results: Sequence[CaseResult], out: TextIO, *, quiet: bool = False) -> None:
    """The human report; its last line is always ``N passed, M failed``."""
    failed = [r for r in results if not r.passed]
    if not quiet:
        for result in failed:
            print(f"FAIL {result.case.id}  ({result.seconds:.2f}s)", file=out)
            for diff in result.differences:
                print(f"   {diff.describe()}", file=out)
            if result.crash:
                print("   engine raised:\n" + _indent(result.crash, "      "), file=out)
        if failed:
            print(file=out)
    print(tag_table(results), file=out)
    warned = sum(1 for r in results if r.passed and r.differences)
    if warned:
        print(f"({warned} passing cases with warnings only; see --json)", file=out)
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed", file=out)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.rstrip().splitlines())


def tag_table(results: Sequence[CaseResult]) -> str:
    """Cases, passed and percentage per tag, tags sorted by name."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for result in results:
        for tag in (*result.case.tags, "all"):
            counts[tag][0] += 1
            counts[tag][1] += result.passed
    width = max((len(t) for t in counts), default=3)
    lines = [f"{'tag':<{width}}  cases  passed       %"]
    for tag in sorted(counts):
        total, passed = counts[tag]
        lines.append(f"{tag:<{width}}  {total:5d}  {passed:6d}  {100 * passed / total:6.1f}")
    return "\n".join(lines)


def results_json(results: Sequence[CaseResult]) -> dict[str, Any]:
    """Per-case results, for --json and for regenerating the known-failures list."""
    passed = sum(r.passed for r in results)
    return {
        "summary": {"cases": len(results), "passed": passed, "failed": len(results) - passed},
        "cases": [
            {
                "id": r.case.id,
                "passed": r.passed,
                "seconds": round(r.seconds, 4),
                "tags": list(r.case.tags),
                "actual_status": r.actual.status,
                "expected_status": r.case.expected.status,
                "differences": [
                    {
                        "field": d.field,
                        "location": d.location,
                        "expected": d.expected,
                        "actual": d.actual,
                        "note": d.note,
                        "warning": d.warning,
                    }
                    for d in r.differences
                ],
                "crash": r.crash,
            }
            for r in results
        ],
    }


def write_json(results: Sequence[CaseResult], path: Path) -> None:
    path.write_text(json.dumps(results_json(results), indent=1, default=str) + "\n", encoding="utf-8")
