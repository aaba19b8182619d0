"""``stepline conformance DIR``: run every case of a corpus directory and report."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from stepline.conformance.cases import CaseFormatError, load_cases
from stepline.conformance.report import print_report, write_json
from stepline.conformance.runner import run_cases


def run_conformance(directory: Path, *, json_out: Path | None, only: str | None, quiet: bool) -> int:
    """Exit code: 0 when every case passed, 1 when some failed, 2 when the corpus is unreadable."""
    try:
        cases = load_cases(directory, only)
    except CaseFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not cases:
        print(f"error: no cases in {directory}" + (f" matching {only!r}" if only else ""), file=sys.stderr)
        return 2
    results = asyncio.run(run_cases(cases))
    print_report(results, sys.stdout, quiet=quiet)
    if json_out is not None:
        try:
            write_json(results, json_out)
        except OSError as exc:
            print(f"error: cannot write {json_out}: {exc}", file=sys.stderr)
            return 2
    return 0 if all(r.passed for r in results) else 1
