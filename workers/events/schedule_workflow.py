"""The workflow a schedule starts for each of its slots (Temporal Schedules; no I/O here).

Temporal starts ``stepline.ScheduleFire`` once per slot with the workflow id ``<action id>-<slot
time>``; its one activity queues the target's delivery under an id made from that workflow id, so a
slot is fired once whatever is retried: a slot that came due while every worker was down runs when
one returns (the workflow waits in its task queue; Temporal's catch-up window covers a Temporal
server that was down).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

SCHEDULE_FIRE = "stepline.ScheduleFire"
FIRE_SCHEDULE = "stepline.fire_schedule"


@dataclass(frozen=True, slots=True)
class ScheduleTarget:
    """A schedule's action: where its input goes (the schedule's own arguments, set at creation)."""

    schedule: str
    target_arn: str
    input: str
    group: str = "default"
    policy: str | None = None
    """The target's retry policy and dead-letter target (``workers.events.retries.Policy`` JSON)."""
    delete_after: bool = False
    """ActionAfterCompletion DELETE: the slot after which no slot is left deletes the schedule."""


@dataclass(frozen=True, slots=True)
class FireRequest:
    target: ScheduleTarget
    slot_id: str
    """The workflow id (the schedule's action id and the slot's time)."""


@workflow.defn(name=SCHEDULE_FIRE)
class ScheduleFireWorkflow:
    """Queue one delivery of the schedule's input for this slot."""

    @workflow.run
    async def run(self, target: ScheduleTarget) -> None:
        await workflow.execute_activity(
            FIRE_SCHEDULE,
            FireRequest(target, workflow.info().workflow_id),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
            ),
        )
