"""``stepline validate``: every diagnostic of every file, and an exit status CI can use."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shell.cli import app

GOOD = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
BAD = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}


def run(*paths: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["validate", *map(str, paths)])
    return result.exit_code, result.output.splitlines()


def test_good_files_pass(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    assert run(good) == (0, [f"{good}: OK"])


def test_every_problem_is_printed_with_its_location_and_fails(tmp_path: Path) -> None:
    good, bad, broken = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "broken.json"
    good.write_text(json.dumps(GOOD))
    bad.write_text(json.dumps(BAD))
    broken.write_text('{"StartAt": ')
    code, lines = run(good, bad, broken)
    assert code == 1
    assert (
        f"{bad}: ERROR MISSING_TRANSITION_TARGET at /States/A/Next: Missing 'Next' target: Nowhere" in lines
    )
    assert any(
        line.startswith(f"{broken}: ERROR INVALID_JSON_DESCRIPTION") and "Unexpected end-of-input" in line
        for line in lines
    )


def test_an_unreadable_file_is_exit_status_2(tmp_path: Path) -> None:
    code, lines = run(tmp_path / "missing.json")
    assert code == 2 and "cannot read it" in lines[0]
