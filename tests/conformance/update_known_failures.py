"""Rewrite known_failures.txt from a run of the corpus.

Usage: ``python tests/conformance/update_known_failures.py [results.json]``.

Without an argument it runs the whole corpus first. Hand-written reasons (``#! why``) are kept for
cases that still fail; every other failure gets its first difference as the reason.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from shell.conformance.cases import load_cases
from shell.conformance.report import results_json
from shell.conformance.runner import run_cases
from tests.conformance.conftest import KNOWN_FAILURES, corpus_dir, read_known_failures


def reason(case: dict[str, Any]) -> str:
    """A one-line reason from a case's first blocking difference."""
    if case.get("crash"):
        last = case["crash"].strip().splitlines()[-1]
        return f"engine raised {last}"[:160]
    for d in case["differences"]:
        if not d["warning"]:
            exp, act = json.dumps(d["expected"], default=str), json.dumps(d["actual"], default=str)
            text = f"{d['field']}{d['location']}: expected {exp}, got {act}"
            if d["field"] == "history" and d["note"]:
                text = f"history{d['location']}: {d['note']}"
            return text if len(text) <= 160 else text[:157] + "..."
    return "fails"


def main(argv: list[str]) -> int:
    if argv:
        data = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    else:
        data = results_json(asyncio.run(run_cases(load_cases(corpus_dir()))))
    known = read_known_failures()
    failing = sorted((c for c in data["cases"] if not c["passed"]), key=lambda c: c["id"])
    lines = [
        "# Conformance cases that do not pass yet: <case id>  # <reason>",
        "# Regenerate: python tests/conformance/update_known_failures.py [results.json]",
    ]
    for case in failing:
        kept = known.get(case["id"], "")
        lines.append(f"{case['id']}  #{kept}" if kept.startswith("!") else f"{case['id']}  # {reason(case)}")
    KNOWN_FAILURES.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(failing)} known failures written to {KNOWN_FAILURES}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
