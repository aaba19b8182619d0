"""Activities of task tokens, activity tasks and nested executions (all run as local activities).

* ``new_task_token_secret``: the secret of a new task token, from the OS's entropy; as a local
  activity its result is recorded in the workflow's history, so a replay issues the same token.
* ``schedule_activity_task`` / ``withdraw_activity_task``: queue an activity task for GetActivityTask
  pollers (waking them with NOTIFY), and remove one nobody took.
* ``register_child_execution``: record a child execution as RUNNING, as StartExecution does, and
  which execution started it; the workflow then starts it as a child workflow. A child of an EXPRESS
  machine is an Express execution, recorded nowhere: queued as an asynchronous one (fire and forget,
  ``.waitForTaskToken``; once, under the ARN the workflow chose) or handed back for the workflow to
  run (``.sync``: ``workers.express_activities``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from foundation import task_tokens
from foundation.registry import activities as registry
from foundation.registry import execution_logs, executions, machine_aliases
from foundation.registry import express_executions as express_queue
from foundation.registry.database import SessionMaker, unit_of_work
from statemachine import express_execution_arn
from workers.contracts import (
    NEW_TASK_TOKEN_SECRET,
    REGISTER_CHILD_EXECUTION,
    SCHEDULE_ACTIVITY_TASK,
    WITHDRAW_ACTIVITY_TASK,
    ActivityTaskRequest,
    ChildExecutionRegistered,
    ChildExecutionRequest,
)


def routed(routes: list[tuple[int, int]], draw: float) -> int:
    """The version an alias's routing sends ``draw`` (in [0, 100)) to: version i with weight_i/100."""
    for published, weight in routes:
        if draw < weight:
            return published
        draw -= weight
    return next(published for published, weight in reversed(routes) if weight > 0)


class CallbackActivities:
    """Bound to the registry."""

    def __init__(self, sessions: SessionMaker) -> None:
        self._sessions = sessions

    @activity.defn(name=NEW_TASK_TOKEN_SECRET)
    async def new_task_token_secret(self) -> str:
        return task_tokens.new_secret()

    @activity.defn(name=SCHEDULE_ACTIVITY_TASK)
    async def schedule_activity_task(self, request: ActivityTaskRequest) -> None:
        try:
            async with unit_of_work(self._sessions) as session:
                await registry.enqueue_task(
                    session,
                    request.activity_name,
                    request.execution_id,
                    request.token,
                    request.input,
                    datetime.now(UTC),
                )
        except registry.ActivityNotFound:
            raise ApplicationError(
                f"Activity Does Not Exist: '{request.activity_name}'",
                type="States.Runtime",
                non_retryable=True,
            ) from None

    @activity.defn(name=WITHDRAW_ACTIVITY_TASK)
    async def withdraw_activity_task(self, request: ActivityTaskRequest) -> None:
        async with unit_of_work(self._sessions) as session:
            await registry.withdraw_task(session, request.token)

    @activity.defn(name=REGISTER_CHILD_EXECUTION)
    async def register_child_execution(self, request: ChildExecutionRequest) -> ChildExecutionRegistered:
        """Idempotent: a retried or replayed registration of the same child finds its own row."""
        child_id = executions.execution_id(request.state_machine_name, request.name)
        async with unit_of_work(self._sessions) as session:
            published = request.published_version
            if request.alias is not None:
                alias = await machine_aliases.find_alias(session, request.state_machine_name, request.alias)
                if alias is None:
                    return ChildExecutionRegistered(
                        error="StepFunctions.ResourceNotFoundException",
                        cause=f"Resource not found: alias '{request.alias}'",
                    )
                published = routed(alias.routes(), request.draw)
            found = await executions.register_latest(
                session,
                request.state_machine_name,
                request.name,
                request.input,
                datetime.fromisoformat(request.start_time),
                published,
                request.alias,
                standard_only=bool(request.express_run),
            )
            if found is None:
                return ChildExecutionRegistered(
                    error="StepFunctions.StateMachineDoesNotExistException",
                    cause=f"State Machine Does Not Exist: '{request.state_machine_name}'",
                )
            if request.express_run and found.machine_type == "EXPRESS":
                return await _express_child(session, request, found)
            if not found.inserted:  # a retried registration finds its own running child; else taken
                parent = await registry.parent_of(session, child_id)
                existing = await executions.get_execution(session, child_id)
                if parent != request.parent_execution_id or existing.status != executions.RUNNING:
                    return ChildExecutionRegistered(
                        error="StepFunctions.ExecutionAlreadyExistsException",
                        cause=f"Execution Already Exists: '{child_id}'",
                    )
            await registry.link_parent(session, child_id, request.parent_execution_id, request.state_name)
        return ChildExecutionRegistered(found.definition, found.version, found.role_arn or "")

    def all(self) -> list[Callable[..., object]]:
        return [
            self.new_task_token_secret,
            self.schedule_activity_task,
            self.withdraw_activity_task,
            self.register_child_execution,
        ]


async def _express_child(
    session: AsyncSession, request: ChildExecutionRequest, found: executions.Registered
) -> ChildExecutionRegistered:
    """An EXPRESS machine's child: its ARN and logging; queued unless its parent waits for it."""
    machine, name = request.state_machine_name, request.name
    arn = express_execution_arn(machine, name, request.express_run, request.region)
    config = await execution_logs.config_of(session, machine)
    if not request.wait:
        row = express_queue.queued(
            arn, activity.info().task_queue, name, machine, found.version, found.definition,
            found.role_arn, request.input, datetime.fromisoformat(request.start_time), config,
        )  # fmt: skip
        await express_queue.enqueue(session, row)  # once: a retried registration finds it queued
        return ChildExecutionRegistered(version=found.version, express_arn=arn)
    return ChildExecutionRegistered(
        found.definition, found.version, found.role_arn or "", express_arn=arn, log_level=config.level,
        include_execution_data=config.include_execution_data, log_group=config.log_group,
    )  # fmt: skip
