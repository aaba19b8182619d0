"""Schedules (EventBridge Scheduler-style) as Temporal Schedules: each slot starts
``stepline.ScheduleFire``, which queues the target's delivery once per slot
(``workers.events.schedule_workflow``). The definition lives in the Temporal schedule (its memo and
action), so a schedule needs no table; its last error is its latest failed delivery.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from api import schedule_schemas as schemas
from api.services.event_bus import TargetSpec, target_problem
from foundation.errors import Conflict, InvalidRequest, NotFound
from foundation.registry import event_bus as registry
from foundation.settings import Settings
from workers.events.schedule_activities import SCHEDULE_BUS
from workers.events.schedule_expressions import InvalidScheduleExpression, parse
from workers.events.schedule_workflow import SCHEDULE_FIRE, ScheduleTarget

CATCHUP_WINDOW = timedelta(days=1)
"""How late a slot may still fire after the Temporal server itself was down (AWS: up to a day)."""
_NAME = re.compile(r"^[0-9a-zA-Z\-_.]{1,64}$")
_MEMO = "stepline"


class ScheduleNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Schedule {name} does not exist.")


def _id(name: str) -> str:
    return f"stepline-schedule-{name}"


def _invalid(where: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, [{"location": where, "message": message}])


async def create(
    session: AsyncSession, temporal: Client, settings: Settings, name: str, body: schemas.ScheduleIn
) -> schemas.SchedulePublic:
    if not _NAME.match(name):
        raise _invalid("/name", f"{name!r} is not a valid schedule name.")
    problem = await target_problem(
        session, TargetSpec(id="target", arn=body.target.arn, input=body.target.input)
    )
    if problem is not None:
        raise _invalid("/target", problem)
    window = body.flexible_time_window
    if window.mode == "FLEXIBLE" and window.maximum_window_in_minutes is None:
        raise _invalid("/flexibleTimeWindow", "MaximumWindowInMinutes is required in FLEXIBLE mode.")
    try:
        parsed = parse(
            body.schedule_expression, body.schedule_expression_timezone,
            flexible_minutes=window.maximum_window_in_minutes if window.mode == "FLEXIBLE" else None,
            start=body.start_date, end=body.end_date,
        )  # fmt: skip
    except InvalidScheduleExpression as exc:
        raise _invalid("/scheduleExpression", str(exc)) from None
    action = ScheduleActionStartWorkflow(
        SCHEDULE_FIRE, ScheduleTarget(name, body.target.arn, body.target.input),
        id=_id(name), task_queue=settings.temporal.task_queue,
    )  # fmt: skip
    state = ScheduleState(
        note=body.description, paused=body.state == "DISABLED",
        limited_actions=parsed.one_time, remaining_actions=1 if parsed.one_time else 0,
    )  # fmt: skip
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=CATCHUP_WINDOW)
    try:
        await temporal.create_schedule(
            _id(name), Schedule(action=action, spec=parsed.spec, policy=policy, state=state),
            memo={_MEMO: body.model_dump(mode="json", by_alias=True)},
        )  # fmt: skip
    except ScheduleAlreadyRunningError:
        raise Conflict(f"Schedule {name} already exists.") from None
    except RPCError as exc:  # a spec Temporal refuses (a cron field out of range)
        if exc.status != RPCStatusCode.INVALID_ARGUMENT:
            raise
        raise _invalid("/scheduleExpression", f"Invalid Schedule Expression: {exc.message}") from None
    return await get(session, temporal, name)


async def get(session: AsyncSession, temporal: Client, name: str) -> schemas.SchedulePublic:
    try:
        described = await temporal.get_schedule_handle(_id(name)).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ScheduleNotFound(name) from None
        raise
    body = schemas.ScheduleIn.model_validate(await described.memo_value(_MEMO))
    failure = await registry.last_failure(session, SCHEDULE_BUS, name)
    paused = described.schedule.state.paused
    return schemas.SchedulePublic(
        name=name, schedule_expression=body.schedule_expression,
        schedule_expression_timezone=body.schedule_expression_timezone,
        state="DISABLED" if paused else "ENABLED", description=body.description, target=body.target,
        fired=described.info.num_actions, next_fire_times=list(described.info.next_action_times),
        last_error=failure.error if failure is not None else None,
    )  # fmt: skip


async def delete(temporal: Client, name: str) -> None:
    try:
        await temporal.get_schedule_handle(_id(name)).delete()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ScheduleNotFound(name) from None
        raise
