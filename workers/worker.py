"""The Temporal worker of Stepline: the workflow, its activities, and the sandbox pass-through."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import statemachine
from workers.activities import Activities
from workers.map_chunk import MapChunkWorkflow
from workers.workflow import StateMachineWorkflow

PASSTHROUGH_MODULES = (
    "statemachine",
    "workers.contracts",
    "workers.host",
    "jsonpath_ng",
    "jsonata",
    "pydantic",
)
"""Imported once per process instead of once per workflow run (they are deterministic)."""


def preload_interpreter() -> None:
    """Import every ``statemachine`` module outside the sandbox.

    A pass-through module first imported inside a workflow would still bind its own imports
    (``asyncio``, ``json``) to the sandbox's restricted proxies, and run several times slower.
    """
    for module in pkgutil.walk_packages(statemachine.__path__, "statemachine."):
        importlib.import_module(module.name)


def sandbox_runner() -> SandboxedWorkflowRunner:
    """The workflow sandbox with the interpreter and its libraries passed through."""
    preload_interpreter()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def build_worker(
    client: Client,
    task_queue: str,
    activities: Activities,
    max_concurrent_activities: int = 200,
    sticky_queue_timeout: timedelta = timedelta(seconds=10),
) -> Worker:
    """A worker for ``StateMachineExecution`` on ``task_queue``.

    ``sticky_queue_timeout``: how long a workflow task waits for this worker's cache before any worker
    may take it (what a crashed worker costs its executions).
    """
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[StateMachineWorkflow, MapChunkWorkflow],
        activities=activities.all(),
        workflow_runner=sandbox_runner(),
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_local_activities=max_concurrent_activities,
        sticky_queue_schedule_to_start_timeout=sticky_queue_timeout,
    )
