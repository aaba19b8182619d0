"""One test per conformance case, through the same runner as ``stepline conformance``.

Cases listed in known_failures.txt are strict xfails: fixing one fails the run until the list
shrinks (``python tests/conformance/update_known_failures.py``), and a regression fails it too.
The selected cases run concurrently once per session; each test then checks its own result.
"""

from __future__ import annotations

import pytest

from shell.conformance.cases import Case, load_cases
from shell.conformance.runner import CaseResult, run_cases
from tests.conformance.conftest import corpus_dir, read_known_failures

CASES_DIR = corpus_dir()
if not CASES_DIR.is_dir():
    pytest.skip(f"no conformance corpus at {CASES_DIR}", allow_module_level=True)

CASES = load_cases(CASES_DIR)
KNOWN = read_known_failures()
_results: dict[str, CaseResult] = {}


def _params() -> list[object]:
    params: list[object] = []
    for case in CASES:
        marks = [pytest.mark.xfail(reason=KNOWN[case.id], strict=True)] if case.id in KNOWN else []
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


@pytest.fixture(scope="session")
async def results(request: pytest.FixtureRequest) -> dict[str, CaseResult]:
    """Results of every case selected in this session, run concurrently in one go."""
    selected = {
        item.callspec.params["case"].id
        for item in request.session.items
        if hasattr(item, "callspec") and isinstance(item.callspec.params.get("case"), Case)
    }
    todo = [case for case in CASES if case.id in selected]
    _results.update({r.case.id: r for r in await run_cases(todo)})
    return _results


def test_known_failures_name_existing_cases() -> None:
    assert sorted(set(KNOWN) - {case.id for case in CASES}) == []


@pytest.mark.parametrize("case", _params())
def test_case(case: Case, results: dict[str, CaseResult]) -> None:
    result = results[case.id]
    lines = [d.describe() for d in result.differences if not d.warning]
    if result.crash:
        lines.append("engine raised:\n" + result.crash)
    assert result.passed, f"{case.id}:\n" + "\n".join(lines)
