"""Recorded workflow histories replay against today's workflow code: a change that would break
running executions fails here. Re-record with ``python -m tests.integration.record_histories``."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workers.payloads import DATA_CONVERTER
from workers.worker import workflow_runner
from workers.workflow import StateMachineWorkflow

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))
TEXTS = {path.stem: path.read_text() for path in HISTORIES}


def test_histories_are_recorded() -> None:
    assert len(HISTORIES) >= 3


@pytest.mark.parametrize("sandboxed", [False, True], ids=["unsandboxed", "sandboxed"])
@pytest.mark.parametrize("name", sorted(TEXTS))
async def test_history_replays(name: str, sandboxed: bool) -> None:
    history = WorkflowHistory.from_json(f"replay-{name}", TEXTS[name])
    replayer = Replayer(
        workflows=[StateMachineWorkflow],
        workflow_runner=workflow_runner(sandboxed),
        data_converter=DATA_CONVERTER,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
