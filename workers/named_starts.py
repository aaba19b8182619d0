"""Starting a named execution of a state machine's latest version, from inside the runtime.

Of an EXPRESS machine: an asynchronous Express execution (``workers.express``), queued under an ARN
derived from the name, so a retried delivery queues nothing twice either.

Rule targets (``workers.events.delivery``) and asynchronous-invocation destinations
(``workers.functions.destinations``) both start executions named after their outbox row, so that a
delivery retried after a crash (between the start and the row's finish) starts nothing twice: the
registry's unique name and Temporal's workflow id both find the first start.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from foundation.registry import execution_logs
from foundation.registry import executions as registry
from foundation.registry import express_executions as express_queue
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.registry.state_machines import get_state_machine
from foundation.settings import Settings
from statemachine import EXECUTION_ROLE_ARN, express_execution_arn
from workers.contracts import WORKFLOW_NAME, ExecutionInput


class NamedStarts:
    """Starts named executions; connects to Temporal on the first start (so a worker that never
    delivers to a state machine holds no extra client)."""

    def __init__(self, settings: Settings, sessions: SessionMaker) -> None:
        self._settings = settings
        self._sessions = sessions
        self._temporal: Client | None = None

    async def start_latest(self, machine: str, name: str, input_text: str) -> str:
        """Start ``machine``'s latest version as execution ``name`` with ``input_text``; its id.
        When ``name`` exists already (an earlier attempt), its recorded version, input and start
        time are started (nothing, if its workflow runs or ran). LookupError when there is no
        such machine."""
        start_date = datetime.now(UTC)
        async with unit_of_work(self._sessions) as session:
            found = await registry.register_latest(
                session, machine, name, input_text, start_date, standard_only=True
            )
            if found is not None and found.machine_type == "EXPRESS":  # asynchronous Express, queued once
                run = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
                arn = express_execution_arn(machine, name, run, self._settings.region)
                config = await execution_logs.config_of(session, machine)
                await express_queue.enqueue(
                    session,
                    express_queue.queued(
                        arn, self._settings.temporal.task_queue, name, machine, found.version,
                        found.definition, found.role_arn, input_text, start_date, config,
                    ),
                )  # fmt: skip
                return arn
        if found is None:
            raise LookupError(f"state machine {machine!r} does not exist")
        execution_id = registry.execution_id(machine, name)
        version, definition, role_arn = found.version, found.definition, found.role_arn
        if not found.inserted:  # registered by an earlier attempt, perhaps of an older version
            async with unit_of_work(self._sessions) as session:
                row = await registry.get_execution(session, execution_id)
                if row.state_machine_version != version:
                    _, older = await get_state_machine(session, machine, row.state_machine_version)
                    version, definition, role_arn = older.version, older.definition, older.role_arn
            input_text, start_date = row.input, row.start_date
        execution = ExecutionInput(
            execution_id=execution_id, execution_name=name, state_machine_name=machine,
            state_machine_version=version, definition=definition, input=input_text,
            start_time=start_date.isoformat(), role_arn=role_arn or EXECUTION_ROLE_ARN,
            region=self._settings.region,
            express_heartbeat_seconds=self._settings.worker.express_heartbeat_seconds,
        )  # fmt: skip
        if self._temporal is None:
            temporal = self._settings.temporal
            self._temporal = await Client.connect(temporal.address, namespace=temporal.namespace)
        with contextlib.suppress(WorkflowAlreadyStartedError):  # started by an earlier attempt
            await self._temporal.start_workflow(
                WORKFLOW_NAME, execution, id=execution_id, task_queue=self._settings.temporal.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                task_timeout=self._settings.temporal.workflow_task_timeout,
            )  # fmt: skip
        return execution_id
