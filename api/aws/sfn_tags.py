"""Step Functions' TagResource, UntagResource and ListTagsForResource, over the registry's one tag
table (``foundation.registry.tags``: AWS's limits are enforced there, for every service).

Tags are kept under the machine's canonical ARN (``statemachine.state_machine_arn``), so the
ARN a caller writes (any region, any account) finds them, and deleting the machine drops them.
Only state machines are taggable here (Step Functions also tags activities, which Stepline lacks).
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from api.aws import arns
from api.aws.errors import AwsError
from api.aws.json_protocol import Call
from api.services import state_machines as service
from foundation.registry import tags
from foundation.registry.database import unit_of_work
from foundation.registry.state_machines import StateMachineNotFound
from statemachine import state_machine_arn


async def tag_new_resource(session: AsyncSession, arn: str, given: list[dict[str, str]] | None) -> None:
    """Tags given with a create request."""
    if given:
        await tags.tag_resource(session, arn, _as_dict(given))


def _as_dict(given: list[dict[str, str]]) -> dict[str, str]:
    return {tag["key"]: tag.get("value", "") for tag in given if "key" in tag}


async def _taggable(call: Call, session: AsyncSession, arn: str) -> str:
    """The canonical ARN of the state machine ``arn`` names; ResourceNotFound when it does not exist."""
    name = arns.unqualified_state_machine(arn)
    try:
        await service.revision(session, name)
    except StateMachineNotFound:
        raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'") from None
    return state_machine_arn(name, call.region)


async def tag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        canonical = await _taggable(call, session, params["resourceArn"])
        await tags.tag_resource(session, canonical, _as_dict(params["tags"]))
    return {}


async def untag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        canonical = await _taggable(call, session, params["resourceArn"])
        await tags.untag_resource(session, canonical, params["tagKeys"])
    return {}


async def list_tags_for_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        canonical = await _taggable(call, session, params["resourceArn"])
        found = await tags.list_tags(session, canonical)
    return {"tags": [{"key": key, "value": value} for key, value in found.items()]}
