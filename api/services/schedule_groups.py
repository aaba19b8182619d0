"""Schedule groups (EventBridge Scheduler): ``default`` always exists; deleting a group deletes its
schedules (their Temporal Schedules first, then the rows). Tags live in ``resource_tag`` under the
group's ARN."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api import schedule_schemas as schemas
from foundation.errors import Conflict
from foundation.registry import schedules as index
from foundation.registry import tags
from foundation.settings import Settings
from statemachine import schedule_group_arn
from workers.events.schedule_activities import temporal_id

_PAGE = 1000


def public(group: index.ScheduleGroup, region: str) -> schemas.ScheduleGroupPublic:
    return schemas.ScheduleGroupPublic(
        name=group.name, arn=schedule_group_arn(group.name, region), state="ACTIVE",
        creation_date=group.created_at, last_modification_date=group.created_at,
    )  # fmt: skip


async def create(
    session: AsyncSession, settings: Settings, name: str, tagged: dict[str, str] | None = None
) -> schemas.ScheduleGroupPublic:
    group = await index.create_group(session, name)
    if tagged:
        await tags.tag_resource(session, schedule_group_arn(name, settings.region), tagged)
    return public(group, settings.region)


async def get(session: AsyncSession, settings: Settings, name: str) -> schemas.ScheduleGroupPublic:
    return public(await index.get_group(session, name), settings.region)


async def list_groups(
    session: AsyncSession, settings: Settings, prefix: str = ""
) -> list[schemas.ScheduleGroupPublic]:
    return [public(g, settings.region) for g in await index.list_groups(session, prefix)]


async def delete(session: AsyncSession, temporal: Client, settings: Settings, name: str) -> None:
    """Delete the group and every schedule in it (``default`` is refused before anything is deleted)."""
    if name == index.DEFAULT_GROUP:
        raise Conflict("The default schedule group cannot be deleted.")
    await index.get_group(session, name)
    after: tuple[str, str] | None = None
    while entries := await index.list_entries(
        session, group=name, prefix="", state=None, after=after, limit=_PAGE
    ):
        for entry in entries:
            try:
                await temporal.get_schedule_handle(temporal_id(name, entry.name)).delete()
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
        after = (name, entries[-1].name)
    await index.delete_group(session, name)
    await tags.delete_tags(session, schedule_group_arn(name, settings.region))
