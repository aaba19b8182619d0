"""Recorded workflow histories replay against today's workflow code: a change that would break
running executions fails here. Re-record with ``python -m tests.integration.record_histories``;
``distributed_map_*`` were recorded by the workers of commit 0b78b5c, before map run controls
(``tests/integration/record_map_histories.py``): executions in flight across that deploy replay
through the patched branches (``statemachine.MAP_RUN_CONTROLS``), chunk workflows included;
``patched_distributed_map_*`` by today's workers (the same script, run from this tree), with the
patch marker; ``distributed_map_redrive`` is a redriven attempt under the ``map-run-redrive`` patch
(``statemachine.MAP_RUN_REDRIVE``: it continues the failed map run, MapRunRedriven), recorded by
``record_histories.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workers.map_chunk import MapChunkWorkflow
from workers.payloads import DATA_CONVERTER
from workers.worker import workflow_runner
from workers.workflow import StateMachineWorkflow

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))
TEXTS = {path.stem: path.read_text() for path in HISTORIES}
_CHUNKED = "distributed-map-chunked:2d446ff8-618f-4859-9902-0cb8fdcdbf70"
_PATCHED = "distributed-map-chunked:a1d091e3-868e-471b-a8c8-5d1a565c63d4"
WORKFLOW_IDS = {
    "distributed_map_chunked": _CHUNKED,
    "distributed_map_chunked_in_flight": _CHUNKED,
    "distributed_map_chunked_chunk": f"{_CHUNKED}/map/Each/1",
    "patched_distributed_map_chunked": _PATCHED,
    "patched_distributed_map_chunked_in_flight": _PATCHED,
}
"""Recorded workflow ids where the commands depend on them (a Map chunk's id is its parent's plus
``/map/STATE/N``); other histories replay under ``replay-NAME``."""


def test_histories_are_recorded() -> None:
    assert len(HISTORIES) >= 3


@pytest.mark.parametrize("sandboxed", [False, True], ids=["unsandboxed", "sandboxed"])
@pytest.mark.parametrize("name", sorted(TEXTS))
async def test_history_replays(name: str, sandboxed: bool) -> None:
    history = WorkflowHistory.from_json(WORKFLOW_IDS.get(name, f"replay-{name}"), TEXTS[name])
    replayer = Replayer(
        workflows=[StateMachineWorkflow, MapChunkWorkflow],
        workflow_runner=workflow_runner(sandboxed),
        data_converter=DATA_CONVERTER,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
