"""Function URLs: an HTTP endpoint of a function (unqualified, or one of its aliases).

Each URL has a random id, the path segment that reaches it (``/lambda-url/{url_id}/...``), its auth
type (``NONE`` or ``AWS_IAM``), its CORS settings (Lambda's ``Cors`` members, stored as given) and its
invoke mode. Repositories never commit: the caller owns the transaction.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Text, UniqueConstraint
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, NotFound
from foundation.registry.functions import LATEST, utcnow

URL_ID_ALPHABET = string.ascii_lowercase + string.digits
URL_ID_LENGTH = 32
"""As long as Lambda's url-id (``https://{url-id}.lambda-url.{region}.on.aws``)."""


class FunctionUrl(SQLModel, table=True):
    """The URL of one function and qualifier (``$LATEST`` when unqualified)."""

    __tablename__ = "function_url_config"
    __table_args__ = (UniqueConstraint("function_name", "qualifier"),)

    url_id: str = Field(primary_key=True, max_length=URL_ID_LENGTH)
    function_name: str = Field(
        sa_column=Column(Text, ForeignKey("function.name", ondelete="CASCADE"), nullable=False)
    )
    qualifier: str = Field(max_length=128)
    auth_type: str = Field(max_length=16)
    cors: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    invoke_mode: str = Field(default="BUFFERED", max_length=32)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_modified: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class FunctionUrlExists(Conflict):
    def __init__(self, function: str, qualifier: str) -> None:
        self.function, self.qualifier = function, qualifier
        super().__init__(f"function {function!r} ({qualifier}) has a URL already")


class FunctionUrlNotFound(NotFound):
    def __init__(self, function: str, qualifier: str) -> None:
        self.function, self.qualifier = function, qualifier
        super().__init__(f"function {function!r} ({qualifier}) has no URL")


def new_url_id() -> str:
    return "".join(secrets.choice(URL_ID_ALPHABET) for _ in range(URL_ID_LENGTH))


async def get_url(
    session: AsyncSession, function: str, qualifier: str | None, *, for_update: bool = False
) -> FunctionUrl:
    query = select(FunctionUrl).where(
        col(FunctionUrl.function_name) == function, col(FunctionUrl.qualifier) == (qualifier or LATEST)
    )
    if for_update:
        query = query.with_for_update()
    found = (await session.exec(query)).first()
    if found is None:
        raise FunctionUrlNotFound(function, qualifier or LATEST)
    return found


async def url_by_id(session: AsyncSession, url_id: str) -> FunctionUrl | None:
    return await session.get(FunctionUrl, url_id)


async def create_url(
    session: AsyncSession, function: str, qualifier: str | None, auth_type: str,
    cors: dict[str, Any] | None, invoke_mode: str,
) -> FunctionUrl:  # fmt: skip
    try:
        await get_url(session, function, qualifier)
    except FunctionUrlNotFound:
        pass
    else:
        raise FunctionUrlExists(function, qualifier or LATEST)
    now = utcnow()
    row = FunctionUrl(
        url_id=new_url_id(), function_name=function, qualifier=qualifier or LATEST, auth_type=auth_type,
        cors=cors, invoke_mode=invoke_mode, created_at=now, last_modified=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def delete_url(session: AsyncSession, function: str, qualifier: str | None) -> None:
    await session.delete(await get_url(session, function, qualifier, for_update=True))
    await session.flush()


async def list_urls(session: AsyncSession, function: str) -> list[FunctionUrl]:
    query = (
        select(FunctionUrl)
        .where(col(FunctionUrl.function_name) == function)
        .order_by(col(FunctionUrl.qualifier))
    )
    return list((await session.exec(query)).all())
