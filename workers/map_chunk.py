"""``MapChunk``: a child workflow running some iterations of a large Map for its parent execution.

The parent (``TemporalHost.run_map_chunk``) applies every Map rule to the outcomes; this workflow
only runs the item processor over its items with the same durable host (Tasks as activities), so
each Temporal history holds at most one chunk's worth of iterations.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from statemachine import MapChunk, outcomes_to_json, run_chunk
    from workers.contracts import MAP_CHUNK_WORKFLOW, MapChunkInput
    from workers.host import TemporalHost


@workflow.defn(name=MAP_CHUNK_WORKFLOW)
class MapChunkWorkflow:
    """Runs one chunk; cancelling it (the parent's Map failed or stopped) cancels its iterations."""

    @workflow.run
    async def run(self, request: MapChunkInput) -> str:
        outcomes = await run_chunk(MapChunk.from_json(request.chunk), TemporalHost(request.execution))
        return outcomes_to_json(outcomes)
