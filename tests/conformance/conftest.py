"""Where the corpus lives and which of its cases are known not to pass yet."""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
KNOWN_FAILURES = HERE / "known_failures.txt"


def corpus_dir() -> Path:
    """``$STEPLINE_CONFORMANCE_CASES``, else ``../shared/conformance/cases`` beside the checkout."""
    configured = os.environ.get("STEPLINE_CONFORMANCE_CASES")
    return Path(configured) if configured else HERE.parents[2] / "shared" / "conformance" / "cases"


def read_known_failures(path: Path = KNOWN_FAILURES) -> dict[str, str]:
    """Case id -> reason, from lines ``<id>  # <reason>`` (blank lines and ``#`` lines ignored).

    A reason written as ``#! <reason>`` is a human's explanation and survives regeneration; plain
    ``# <reason>`` lines are regenerated from the latest run.
    """
    known: dict[str, str] = {}
    if not path.exists():
        return known
    for line in path.read_text(encoding="utf-8").splitlines():
        text, _, reason = line.partition("#")
        if text.strip():
            known[text.strip()] = reason.strip()
    return known
