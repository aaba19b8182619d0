"""The Temporal worker of Stepline: the workflow, its activities, and the sandbox pass-through."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import statemachine
from workers import history_notices
from workers.activities import Activities
from workers.events.schedule_workflow import ScheduleFireWorkflow
from workers.map_chunk import MapChunkWorkflow
from workers.payloads import with_invocation_payloads
from workers.workflow import StateMachineWorkflow

PASSTHROUGH_MODULES = (
    "statemachine",
    "workers.contracts",
    "workers.host",
    "workers.history_notices",
    "workers.payloads",
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


def workflow_runner(sandboxed: bool) -> WorkflowRunner:
    """Temporal's workflow sandbox, or none.

    Unsandboxed is the default: the interpreter reaches time, randomness and I/O only through its
    ``Host`` (determinism by construction, checked by the replay tests), while the sandbox rebuilt the
    workflow module for every run and wrapped the builtins the interpreter calls per state, costing
    about a third of a short execution's CPU. ``STEPLINE_TEMPORAL__WORKFLOW_SANDBOX=true`` turns the
    sandbox back on (e.g. while developing workflow code).
    """
    return sandbox_runner() if sandboxed else UnsandboxedWorkflowRunner()


def build_worker(
    client: Client,
    task_queue: str,
    activities: Activities,
    max_concurrent_activities: int = 200,
    sticky_queue_timeout: timedelta = timedelta(seconds=10),
    sandboxed: bool = False,
) -> Worker:
    """A worker for ``StateMachineExecution`` on ``task_queue``.

    ``sticky_queue_timeout``: how long a workflow task waits for this worker's cache before any worker
    may take it (what a crashed worker costs its executions). ``sandboxed``: see ``workflow_runner``.
    The worker converts with ``workers.payloads.DATA_CONVERTER`` whatever ``client`` was built with.
    Its executions' new history events are announced on the database (``workers.history_notices``).
    """
    history_notices.register(
        task_queue, history_notices.HistoryNotices(activities.sessions, asyncio.get_running_loop())
    )
    return Worker(
        with_invocation_payloads(client),
        task_queue=task_queue,
        workflows=[StateMachineWorkflow, MapChunkWorkflow, ScheduleFireWorkflow],
        activities=activities.all(),
        workflow_runner=workflow_runner(sandboxed),
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_local_activities=max_concurrent_activities,
        sticky_queue_schedule_to_start_timeout=sticky_queue_timeout,
    )
