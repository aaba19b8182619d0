"""Schedules (EventBridge Scheduler-style) as Temporal Schedules: each slot starts
``stepline.ScheduleFire``, which queues the target's delivery once per slot
(``workers.events.schedule_workflow``). The definition is the ``schedule`` row (``foundation.registry
.schedules``; schedules made before it existed are read from their Temporal memo); firing state
(paused, slots fired, next times) is Temporal's; the last error is the latest failed delivery.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from api import schedule_schemas as schemas
from api.services.event_bus import TargetSpec, target_problem
from foundation.errors import InvalidRequest, NotFound
from foundation.registry import event_bus as registry
from foundation.registry import schedules as index
from foundation.settings import Settings
from statemachine import schedule_arn
from workers.events.retries import Policy
from workers.events.schedule_activities import source_of, temporal_id
from workers.events.schedule_expressions import InvalidScheduleExpression, Parsed, parse
from workers.events.schedule_workflow import SCHEDULE_FIRE, ScheduleTarget

CATCHUP_WINDOW = timedelta(days=1)
"""How late a slot may still fire after the Temporal server itself was down (AWS: up to a day)."""
_NAME = re.compile(schemas.NAME_PATTERN)
_MEMO = "stepline"


class ScheduleNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Schedule {name} does not exist.")


def _invalid(where: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, [{"location": where, "message": message}])


def valid_name(name: str) -> bool:
    return _NAME.match(name) is not None


def invalid_name(name: str) -> InvalidRequest:
    return _invalid("/name", f"{name[:80]!r} is not a valid name: 1-64 of 0-9 a-z A-Z - _ .")


async def _checked(session: AsyncSession, name: str, body: schemas.ScheduleIn) -> Parsed:
    """The parsed expression of a valid definition (``InvalidRequest`` naming the first problem)."""
    if not valid_name(name):
        raise invalid_name(name)
    target = body.target
    problem = await target_problem(session, TargetSpec(id="target", arn=target.arn, input=target.input))
    if problem is not None:
        raise _invalid("/target", problem)
    if target.dead_letter_config is not None:
        dead = target.dead_letter_config.arn
        if ":event-bus/" in dead:
            try:
                await registry.check_bus(session, dead.rsplit("event-bus/", 1)[1])
            except registry.EventBusNotFound as exc:
                raise _invalid("/target/deadLetterConfig/arn", str(exc)) from None
        elif (problem := await target_problem(session, TargetSpec(id="dlq", arn=dead))) is not None:
            raise _invalid(
                "/target/deadLetterConfig/arn",
                problem.replace(
                    "(a function or a state machine ARN)", "(a function, state machine or bus ARN)"
                ),
            )
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
    return parsed


def _schedule(settings: Settings, name: str, body: schemas.ScheduleIn, parsed: Parsed) -> Schedule:
    target = body.target
    policy = Policy(
        retries=target.retry_policy.maximum_retry_attempts,
        max_age_seconds=target.retry_policy.maximum_event_age_in_seconds,
        dead_letter_arn=target.dead_letter_config.arn if target.dead_letter_config else None,
        schedule_arn=schedule_arn(body.group_name, name, settings.region),
    )
    args = ScheduleTarget(
        name, target.arn, target.input, group=body.group_name, policy=policy.dumps(),
        delete_after=body.action_after_completion == "DELETE",
    )  # fmt: skip
    action = ScheduleActionStartWorkflow(
        SCHEDULE_FIRE, args, id=temporal_id(body.group_name, name), task_queue=settings.temporal.task_queue
    )
    state = ScheduleState(
        note=body.description, paused=body.state == "DISABLED",
        limited_actions=parsed.one_time, remaining_actions=1 if parsed.one_time else 0,
    )  # fmt: skip
    policy_ = SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=CATCHUP_WINDOW)
    return Schedule(action=action, spec=parsed.spec, policy=policy_, state=state)


def _refused_spec(exc: RPCError) -> InvalidRequest:
    """A spec Temporal refuses (a cron field out of range)."""
    if exc.status != RPCStatusCode.INVALID_ARGUMENT:
        raise exc
    return _invalid("/scheduleExpression", f"Invalid Schedule Expression: {exc.message}")


async def create(
    session: AsyncSession, temporal: Client, settings: Settings, name: str, body: schemas.ScheduleIn
) -> schemas.SchedulePublic:
    parsed = await _checked(session, name, body)
    text = body.model_dump_json(by_alias=True)
    await index.add_entry(session, body.group_name, name, body.state, body.target.arn, text)
    try:
        await temporal.create_schedule(
            temporal_id(body.group_name, name), _schedule(settings, name, body, parsed),
            memo={_MEMO: json.loads(text)},
        )  # fmt: skip
    except ScheduleAlreadyRunningError:
        raise index.ScheduleExists(name) from None
    except RPCError as exc:
        raise _refused_spec(exc) from None
    return await get(session, temporal, settings, name, body.group_name)


async def update(
    session: AsyncSession, temporal: Client, settings: Settings, name: str, body: schemas.ScheduleIn
) -> schemas.SchedulePublic:
    """Replace the whole definition (UpdateSchedule: what is not given takes its default)."""
    parsed = await _checked(session, name, body)
    await _describe(temporal, body.group_name, name)
    new = _schedule(settings, name, body, parsed)

    def replace(given: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=new)

    await index.update_entry(
        session, body.group_name, name, body.state, body.target.arn, body.model_dump_json(by_alias=True)
    )
    try:
        await temporal.get_schedule_handle(temporal_id(body.group_name, name)).update(replace)
    except RPCError as exc:
        raise _refused_spec(exc) from None
    return await get(session, temporal, settings, name, body.group_name)


async def _describe(temporal: Client, group: str, name: str) -> ScheduleDescription:
    try:
        return await temporal.get_schedule_handle(temporal_id(group, name)).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ScheduleNotFound(name) from None
        raise


async def get(
    session: AsyncSession, temporal: Client, settings: Settings, name: str, group: str = index.DEFAULT_GROUP
) -> schemas.SchedulePublic:
    described = await _describe(temporal, group, name)
    entry = await index.get_entry(session, group, name)
    if entry is not None:
        body = schemas.ScheduleIn.model_validate_json(entry.body)
        created, modified = entry.created_at, entry.updated_at
    else:  # made before the index existed: its definition is its memo
        body = schemas.ScheduleIn.model_validate(await described.memo_value(_MEMO))
        created = modified = described.info.created_at
    failure = await registry.last_failure(session, source_of(group), name)
    return schemas.SchedulePublic(
        name=name, arn=schedule_arn(group, name, settings.region), group_name=group,
        schedule_expression=body.schedule_expression,
        schedule_expression_timezone=body.schedule_expression_timezone,
        flexible_time_window=body.flexible_time_window, start_date=body.start_date, end_date=body.end_date,
        state="DISABLED" if described.schedule.state.paused else "ENABLED", description=body.description,
        action_after_completion=body.action_after_completion, target=body.target,
        creation_date=created, last_modification_date=modified or created,
        fired=described.info.num_actions, next_fire_times=list(described.info.next_action_times),
        last_error=failure.error if failure is not None else None,
    )  # fmt: skip


async def delete(
    session: AsyncSession, temporal: Client, name: str, group: str = index.DEFAULT_GROUP
) -> None:
    removed = await index.remove_entry(session, group, name)
    try:
        await temporal.get_schedule_handle(temporal_id(group, name)).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        if not removed:  # neither a row nor a Temporal schedule (one without the other is deleted)
            raise ScheduleNotFound(name) from None


async def list_schedules(
    session: AsyncSession, settings: Settings, *, group: str | None = None, prefix: str = "",
    state: str | None = None, limit: int = 100, next_token: str | None = None,
) -> schemas.ScheduleList:  # fmt: skip
    """A page of schedules by group and name; ``nextToken`` continues it."""
    after = _after(next_token) if next_token else None
    rows = await index.list_entries(
        session, group=group, prefix=prefix, state=state, after=after, limit=limit + 1
    )
    page = rows[:limit]
    token = None
    if len(rows) > limit:
        token = base64.urlsafe_b64encode(json.dumps([page[-1].group_name, page[-1].name]).encode()).decode()
    return schemas.ScheduleList(
        schedules=[
            schemas.ScheduleSummary(
                name=r.name,
                arn=schedule_arn(r.group_name, r.name, settings.region),
                group_name=r.group_name,
                state=r.state,
                target_arn=r.target_arn,
                creation_date=r.created_at,
                last_modification_date=r.updated_at,
            )
            for r in page
        ],
        next_token=token,
    )


def _after(token: str) -> tuple[str, str]:
    try:
        group, name = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(group), str(name)
    except (ValueError, TypeError, binascii.Error):
        raise _invalid("/nextToken", "The nextToken is not one this API gave.") from None
