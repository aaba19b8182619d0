"""The schedule's activity: queue a slot's delivery in the outbox (``workers.events.delivery``), once."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable

from temporalio import activity
from temporalio.service import RPCError, RPCStatusCode

from foundation.registry import event_bus as registry
from foundation.registry import schedules as schedule_registry
from foundation.registry.database import SessionMaker, unit_of_work
from workers.events.retries import Policy
from workers.events.schedule_workflow import FIRE_SCHEDULE, FireRequest

SCHEDULE_BUS = "schedule"
"""The ``bus_name`` of the default group's deliveries (no bus of that name can exist: rules never see
them); another group's are ``schedule/<group>``."""
_SLOT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def slot_delivery_id(slot_id: str) -> str:
    """The delivery id (and the started execution's name) of one slot: the same for every retry."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"stepline-schedule:{slot_id}"))


def source_of(group: str) -> str:
    """The deliveries' ``bus_name`` of a group's schedules."""
    return SCHEDULE_BUS if group == schedule_registry.DEFAULT_GROUP else f"{SCHEDULE_BUS}/{group}"


def temporal_id(group: str, name: str) -> str:
    """The Temporal Schedule's id (the default group's keep the id they always had)."""
    if group == schedule_registry.DEFAULT_GROUP:
        return f"stepline-schedule-{name}"
    return f"stepline-schedule-{group}/{name}"


class ScheduleActivities:
    def __init__(self, sessions: SessionMaker) -> None:
        self._sessions = sessions

    @activity.defn(name=FIRE_SCHEDULE)
    async def fire_schedule(self, request: FireRequest) -> bool:
        """Queue the slot's delivery; False when an earlier attempt queued it."""
        target = request.target
        policy = target.policy
        if policy is not None:
            found = _SLOT_TIME.search(request.slot_id)
            slot_time = found[0] if found else ""
            policy = dataclasses.replace(Policy.loads(policy), scheduled_time=slot_time).dumps()
        async with unit_of_work(self._sessions) as session:
            queued = await registry.add_delivery_once(
                session, slot_delivery_id(request.slot_id), (source_of(target.group), target.schedule),
                target.target_arn, target.input, policy,
            )  # fmt: skip
        if target.delete_after:
            await self._delete_when_done(target.group, target.schedule)
        return queued

    async def _delete_when_done(self, group: str, name: str) -> None:
        """ActionAfterCompletion DELETE: a schedule with no slot left (an ``at()`` one that fired, one
        past its EndDate) deletes itself."""
        handle = activity.client().get_schedule_handle(temporal_id(group, name))
        try:
            if (await handle.describe()).info.next_action_times:
                return
            async with unit_of_work(self._sessions) as session:
                await schedule_registry.remove_entry(session, group, name)
            await handle.delete()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise

    def all(self) -> list[Callable[..., object]]:
        return [self.fire_schedule]
