"""Conformance cases end to end on the real product: the API over HTTP (uvicorn), PostgreSQL, Temporal,
and a worker whose Task states invoke the cases' functions as real ``python3.11`` functions,
registered through ``POST /v1/functions`` and run in bubblewrap sandboxes.

CI runs a tagged subset (``ci_subset``): every case with functions (the longest waits 8 s of retry
back-off, all run concurrently), plus about 40 cases without functions, ending within 5 s, chosen
to cover every group, state type, kind, outcome, Map/Wait variant and raised error of the corpus.
All of them: ``python3 scripts/conformance_e2e.py DIR``.

Known failures are strict: the local runner's list (tests/conformance/known_failures.txt) plus
conformance_e2e_known_failures.txt beside this file, differences of the end-to-end path alone, each
naming where the product differs. Fixing one fails this test until its line goes.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from foundation.settings import Settings
from shell.conformance.cases import Case, load_cases
from shell.conformance.remote import run_remote
from shell.conformance.runner import CaseResult
from shell.conformance.stack import stack
from tests.conformance.conftest import corpus_dir, read_known_failures
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, pytest.mark.sandbox, requires_bwrap]

CASES_DIR = corpus_dir()
if not CASES_DIR.is_dir():
    pytest.skip(f"no conformance corpus at {CASES_DIR}", allow_module_level=True)

CI_SECONDS = 5.0
"""Cases without functions that may wait longer than this (Wait states, back-off) stay out."""
COVERED_PREFIXES = ("group:", "state:", "kind:", "outcome:", "map:", "wait:", "raises:")
COVERED_TAGS = ("jsonata", "intrinsic", "variables", "context_object", "retry", "catch")

E2E_KNOWN_FAILURES = read_known_failures(Path(__file__).parents[1] / "conformance_e2e_known_failures.txt")


def quick(case: Case) -> bool:
    """Ends within CI_SECONDS: no long waits or back-off, not stalled by design."""
    return case.wait_budget_seconds <= CI_SECONDS and "nonterminal" not in case.tags


def ci_subset(cases: Sequence[Case]) -> list[Case]:
    """Every case with functions, and for each covered tag the first quick case without functions
    that carries it (unless one already picked does): a greedy cover, in id order."""
    plain = [c for c in cases if not c.functions and quick(c)]
    tags = sorted({t for c in plain for t in c.tags if t.startswith(COVERED_PREFIXES)} | set(COVERED_TAGS))
    picked: list[Case] = []
    for tag in tags:
        if not any(tag in c.tags for c in picked):
            picked.append(next(c for c in plain if tag in c.tags))
    chosen = {c.id for c in picked} | {c.id for c in cases if c.functions}
    return [c for c in cases if c.id in chosen]


ALL_CASES = load_cases(CASES_DIR)
CASES = ci_subset(ALL_CASES)
KNOWN = read_known_failures() | E2E_KNOWN_FAILURES


def _params() -> list[object]:
    return [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(reason=KNOWN[case.id], strict=True)] if case.id in KNOWN else [],
        )
        for case in CASES
    ]


@pytest.fixture(scope="module")
async def conformance_api(
    database_url: str,
    temporal_address: str,
    temporal_client: Client,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    """The product on a fresh task queue: API URL, with a worker running the function runtime."""
    settings = Settings(
        database_url=SecretStr(database_url),
        temporal_address=temporal_address,
        data_dir=tmp_path_factory.mktemp("conformance") / "data",
        temporal={"task_queue": f"conformance-{uuid.uuid4().hex[:12]}"},
        sandbox={"idle_seconds": 20.0},
    )
    async with stack(settings, temporal_client) as url:
        yield url


@pytest.fixture(scope="module")
async def results(conformance_api: str, request: pytest.FixtureRequest) -> dict[str, CaseResult]:
    """The selected cases, run concurrently through the API once per module."""
    selected = {
        item.callspec.params["case"].id
        for item in request.session.items
        if hasattr(item, "callspec") and isinstance(item.callspec.params.get("case"), Case)
    }
    todo = [case for case in CASES if case.id in selected]
    return {r.case.id: r for r in await run_remote(todo, conformance_api)}


def test_subset_covers_the_corpus() -> None:
    """The CI subset holds every function case and about 40 others across the covered tags."""
    with_functions = [c for c in CASES if c.functions]
    assert len(with_functions) == sum(1 for c in ALL_CASES if c.functions)
    assert 30 <= len(CASES) - len(with_functions) <= 60
    covered = {t for c in CASES for t in c.tags}
    wanted = {t for c in ALL_CASES if quick(c) for t in c.tags if t.startswith(COVERED_PREFIXES)}
    assert wanted <= covered


def test_known_failures_name_existing_cases() -> None:
    assert sorted(set(E2E_KNOWN_FAILURES) - {case.id for case in ALL_CASES}) == []


@pytest.mark.parametrize("case", _params())
def test_case_end_to_end(case: Case, results: dict[str, CaseResult]) -> None:
    result = results[case.id]
    lines = [d.describe() for d in result.differences if not d.warning]
    if result.crash:
        lines.append("runner raised:\n" + result.crash)
    assert result.passed, f"{case.id}:\n" + "\n".join(lines)


async def test_cli_runs_cases_through_the_api(conformance_api: str, tmp_path: Path) -> None:
    """``stepline conformance DIR --api URL``: exit code, report and --json from the remote runner."""
    from shell.conformance.cli import run_conformance

    corpus = tmp_path / "cases"
    corpus.mkdir()
    for wanted in ("services.test_lambda_task__test_invoke_pipe", "base.test_base__test_state_fail"):
        shutil.copy(CASES_DIR / f"{wanted}.json", corpus)
    out = tmp_path / "results.json"
    code = await asyncio.to_thread(
        run_conformance, corpus, json_out=out, only=None, quiet=False, api_url=conformance_api
    )
    assert code == 0
    assert json.loads(out.read_text())["summary"] == {"cases": 2, "passed": 2, "failed": 0}
    unreachable = await asyncio.to_thread(
        run_conformance, corpus, json_out=None, only=None, quiet=True, api_url="http://127.0.0.1:9"
    )
    assert unreachable == 2
