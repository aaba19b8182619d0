"""The schedule's activity: queue a slot's delivery in the outbox (``workers.events.delivery``), once."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from temporalio import activity

from foundation.registry import event_bus as registry
from foundation.registry.database import SessionMaker, unit_of_work
from workers.events.schedule_workflow import FIRE_SCHEDULE, FireRequest

SCHEDULE_BUS = "schedule"
"""The ``bus_name`` of schedules' deliveries (no bus of that name can exist: rules never see them)."""


def slot_delivery_id(slot_id: str) -> str:
    """The delivery id (and the started execution's name) of one slot: the same for every retry."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"stepline-schedule:{slot_id}"))


class ScheduleActivities:
    def __init__(self, sessions: SessionMaker) -> None:
        self._sessions = sessions

    @activity.defn(name=FIRE_SCHEDULE)
    async def fire_schedule(self, request: FireRequest) -> bool:
        """Queue the slot's delivery; False when an earlier attempt queued it."""
        target = request.target
        async with unit_of_work(self._sessions) as session:
            return await registry.add_delivery_once(
                session, slot_delivery_id(request.slot_id), (SCHEDULE_BUS, target.schedule),
                target.target_arn, target.input,
            )  # fmt: skip

    def all(self) -> list[Callable[..., object]]:
        return [self.fire_schedule]
