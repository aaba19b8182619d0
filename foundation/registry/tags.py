"""Tags on any resource, keyed by its ARN (state machines, functions): one table for every service.

AWS's limits are enforced here, once, for both APIs: at most 50 tags per resource, keys of 1-128
characters, values of at most 256. Repositories take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Column, String, Text, delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import LimitExceeded

MAX_TAGS = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256


class ResourceTag(SQLModel, table=True):
    """One tag of one resource."""

    __tablename__ = "resource_tag"

    resource_arn: str = Field(sa_column=Column(Text, primary_key=True, nullable=False))
    key: str = Field(sa_column=Column(String(MAX_KEY_LENGTH), primary_key=True, nullable=False))
    value: str = Field(sa_column=Column(String(MAX_VALUE_LENGTH), nullable=False))


class TagLimitExceeded(LimitExceeded):
    """Tags that break AWS's limits; the message says which limit (AWS APIs map it to their error)."""


class TooManyTags(TagLimitExceeded):
    """More tags on one resource than ``MAX_TAGS`` (Step Functions has an error of its own for it)."""


def check_tags(tags: Mapping[str, str]) -> None:
    """Refuse keys and values outside AWS's lengths (before anything is written)."""
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise TagLimitExceeded(f"tag key must be 1 to {MAX_KEY_LENGTH} characters: {key[:40]!r}")
        if len(value) > MAX_VALUE_LENGTH:
            raise TagLimitExceeded(f"tag value of {key!r} is longer than {MAX_VALUE_LENGTH} characters")


async def list_tags(session: AsyncSession, resource_arn: str) -> dict[str, str]:
    query = select(ResourceTag).where(col(ResourceTag.resource_arn) == resource_arn)
    rows = (await session.exec(query.order_by(col(ResourceTag.key)))).all()
    return {row.key: row.value for row in rows}


async def tag_resource(session: AsyncSession, resource_arn: str, tags: Mapping[str, str]) -> None:
    """Add or overwrite tags; the resource ends with at most ``MAX_TAGS``."""
    check_tags(tags)
    if not tags:
        return
    existing = await list_tags(session, resource_arn)
    if len(existing.keys() | tags.keys()) > MAX_TAGS:
        raise TooManyTags(f"a resource can have at most {MAX_TAGS} tags")
    statement = insert(ResourceTag).values(
        [{"resource_arn": resource_arn, "key": k, "value": v} for k, v in tags.items()]
    )
    statement = statement.on_conflict_do_update(
        index_elements=["resource_arn", "key"], set_={"value": statement.excluded.value}
    )
    await session.exec(statement)


async def untag_resource(session: AsyncSession, resource_arn: str, keys: Iterable[str]) -> None:
    """Remove these keys (absent keys are ignored, as AWS does)."""
    keys = list(keys)
    if keys:
        await session.exec(
            delete(ResourceTag).where(
                col(ResourceTag.resource_arn) == resource_arn, col(ResourceTag.key).in_(keys)
            )
        )


async def delete_tags(session: AsyncSession, resource_arn: str) -> None:
    """Forget every tag of a deleted resource."""
    await session.exec(delete(ResourceTag).where(col(ResourceTag.resource_arn) == resource_arn))
