"""Service limits the interpreter enforces, so that no definition or input can exhaust the host."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Quotas of one execution. The Temporal host passes a larger ``max_history_events``."""

    max_payload_bytes: int = 262_144
    """Largest state input/output, task result or execution input (256 KiB): States.DataLimitExceeded."""
    max_history_events: int = 25_000
    """Events after which the execution fails with States.Runtime (stops endless Choice loops)."""
    max_map_in_flight: int = 1_000
    """Map iterations running at once when MaxConcurrency is 0 (unbounded in ASL)."""
    max_map_items: int = 100_000
    """Items an inline Map accepts before failing with States.DataLimitExceeded."""
    map_offload_min_items: int = 200
    """A Map with more items than this runs in chunks through a host's ``run_map_chunk`` (if any)."""
    map_chunk_items: int = 250
    """Items per offloaded chunk."""
    map_chunk_bytes: int = 1_048_576
    """A chunk ends early once its item inputs reach this many bytes (Temporal payloads stay small)."""
    map_max_chunks_in_flight: int = 4
    """Chunks running at once (MaxConcurrency is shared among them)."""
    max_wait_seconds: float = 2_147_483_647.0
    """Longest Wait AWS accepts (2^31 - 1 seconds, about 68 years); longer fails with States.Runtime."""
