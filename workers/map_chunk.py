"""``MapChunk``: a child workflow running some iterations of a large Map for its parent execution.

The parent (``TemporalHost.run_map_chunk``) applies every Map rule to the outcomes; this workflow
only runs the item processor over its items with the same durable host (Tasks as activities), so
each Temporal history holds at most one chunk's worth of iterations.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from statemachine import MAP_RUN_CONTROLS, Gate, MapChunk, outcomes_to_json, run_chunk
    from workers.contracts import (
        CHUNK_CONCURRENCY_SIGNAL,
        MAP_CHUNK_WORKFLOW,
        TASK_TOKEN_UPDATE,
        MapChunkInput,
        TokenUpdate,
    )
    from workers.host import TemporalHost
    from workers.task_waits import rejected


@workflow.defn(name=MAP_CHUNK_WORKFLOW)
class MapChunkWorkflow:
    """Runs one chunk; cancelling it (the parent's Map failed or stopped) cancels its iterations."""

    def __init__(self) -> None:
        self._host: TemporalHost | None = None
        self._gate: Gate | None = None
        self._resized: int | None = None
        """A concurrency signalled before the chunk started."""

    @workflow.run
    async def run(self, request: MapChunkInput) -> str:
        self._host = TemporalHost(request.execution)
        chunk = MapChunk.from_json(request.chunk)
        if not workflow.patched(MAP_RUN_CONTROLS):  # started before chunks could be resized
            return outcomes_to_json(await run_chunk(chunk, self._host))
        self._gate = Gate(self._resized or chunk.max_concurrency)
        outcomes = await run_chunk(chunk, self._host, self._gate)
        return outcomes_to_json(outcomes)

    @workflow.signal(name=CHUNK_CONCURRENCY_SIGNAL)
    async def resize(self, concurrency: int) -> None:
        """UpdateMapRun reached the parent: iterations not started yet take the new concurrency."""
        if self._gate is None:
            self._resized = concurrency
        else:
            await self._gate.set_limit(concurrency)

    @workflow.update(name=TASK_TOKEN_UPDATE)
    def task_token(self, update: TokenUpdate) -> None:
        """Task tokens issued by the chunk's iterations (``workers.task_waits``)."""
        if self._host is not None:
            self._host.deliver_token_update(update)

    @task_token.validator
    def check_task_token(self, update: TokenUpdate) -> None:
        if self._host is None:
            raise rejected("TaskDoesNotExist", "Task Does Not Exist: the chunk has not started")
        self._host.check_token_update(update)
