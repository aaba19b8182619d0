"""What a redriven Map keeps from its last attempt when its outputs are in no state event: a Map
whose iterations ran in ``MapChunk`` child workflows (a Distributed Map, or any Map past
``Limits.map_offload_min_items``), read from the last attempt's Temporal history, where each chunk
that completed left its outcomes as its result (a chunk stopped by a failure lists its successes
too; a cancelled chunk's iterations run again); and a Distributed Map the parent ran itself, whose
child runs' outputs its map run kept in PostgreSQL (``map_run_output``). An attempt that was itself
redriven started with the earlier attempts' outputs in its input: they are kept too."""

from __future__ import annotations

import json
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from api.state import AppState
from foundation.errors import Unavailable
from foundation.registry import map_runs
from foundation.registry.database import unit_of_work
from statemachine import JSON, Resume, chunk_outputs
from workers.contracts import ExecutionInput

MAX_KEPT_BYTES = 1_500_000
"""The outputs travel in the new attempt's input (Temporal's payloads stop at 2 MB): past this, the
rest of the iterations run again."""


async def chunked_done(state: AppState, execution_id: str, arn: str, map_state: str) -> dict[int, JSON]:
    """Outputs of the Map ``map_state``'s iterations that succeeded in chunks or were kept by its
    map run, by index (``arn``: the execution's)."""
    async with unit_of_work(state.sessions) as session:
        kept = await map_runs.kept_outputs(session, arn, map_state)
    handle: WorkflowHandle[Any, Any] = state.temporal.get_workflow_handle(execution_id)
    prefix = f"{execution_id}/map/{map_state}/"
    converter = state.temporal.data_converter
    results: list[str] = []
    earlier: dict[int, JSON] = {}
    try:
        history = await handle.fetch_history()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return _capped(kept)  # past Temporal's retention: the chunks' iterations run again
        raise Unavailable(f"Temporal did not give the last attempt's history: {exc.message}") from exc
    for event in history.events:
        if event.HasField("workflow_execution_started_event_attributes"):
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            (execution,) = await converter.decode(payloads, [ExecutionInput])
            if execution.redrive:
                resume = Resume.from_json(json.loads(execution.redrive))
                earlier = dict(resume.done) if resume.state == map_state else {}
        elif event.HasField("child_workflow_execution_completed_event_attributes"):
            done = event.child_workflow_execution_completed_event_attributes
            if done.workflow_execution.workflow_id.startswith(prefix):
                (text,) = await converter.decode(done.result.payloads, [str])
                results.append(text)
    return _capped({**earlier, **kept, **chunk_outputs(results)})


def _capped(done: dict[int, JSON]) -> dict[int, JSON]:
    kept: dict[int, JSON] = {}
    size = 0
    for index in sorted(done):
        size += len(json.dumps(done[index], separators=(",", ":"))) + 12
        if size > MAX_KEPT_BYTES:
            break
        kept[index] = done[index]
    return kept
