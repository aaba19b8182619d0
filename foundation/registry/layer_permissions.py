"""Resource-based policy statements of layer versions (Lambda's AddLayerVersionPermission,
GetLayerVersionPolicy, RemoveLayerVersionPermission).

Stored and returned as Lambda does, not enforced (Stepline has one account: nobody else asks for a
layer). Each change gives the version a new ``policy_revision_id``. Repositories never commit.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKeyConstraint, Integer, String, Text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, NotFound
from foundation.registry.function_permissions import StatementExists, StatementNotFound
from foundation.registry.layers import LayerVersion, get_version


class LayerVersionPermission(SQLModel, table=True):
    """One statement of a layer version's policy; deleted with the version."""

    __tablename__ = "layer_version_permission"
    __table_args__ = (
        ForeignKeyConstraint(
            ["layer_name", "version"],
            ["layer_version.layer_name", "layer_version.version"],
            ondelete="CASCADE",
        ),
    )

    layer_name: str = Field(sa_column=Column(Text, primary_key=True, nullable=False))
    version: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False))
    statement_id: str = Field(sa_column=Column(String(100), primary_key=True, nullable=False))
    statement: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class LayerPolicyNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No policy is associated with the given resource.")


class LayerRevisionMismatch(Conflict):
    """A ``revisionId`` that is not the policy's current one (Lambda's PreconditionFailedException)."""

    def __init__(self) -> None:
        super().__init__(
            "The Revision Id provided does not match the latest Revision Id. Call the GetLayerVersionPolicy "
            "API to retrieve the latest Revision Id"
        )


async def _locked(session: AsyncSession, name: str, version: int, revision_id: str | None) -> LayerVersion:
    row = await get_version(session, name, version)
    await session.refresh(row, with_for_update=True)
    if revision_id is not None and revision_id != row.policy_revision_id:
        raise LayerRevisionMismatch
    return row


async def statements(session: AsyncSession, name: str, version: int) -> list[dict[str, Any]]:
    query = select(LayerVersionPermission).where(
        col(LayerVersionPermission.layer_name) == name, col(LayerVersionPermission.version) == version
    )
    rows = (await session.exec(query.order_by(col(LayerVersionPermission.created_at)))).all()
    return [row.statement for row in rows]


async def add_statement(
    session: AsyncSession, name: str, version: int, statement: dict[str, Any], revision_id: str | None
) -> str:
    """Add a statement to the version's policy; its new revision id."""
    row = await _locked(session, name, version, revision_id)
    sid = statement["Sid"]
    if await session.get(LayerVersionPermission, (name, version, sid)) is not None:
        raise StatementExists(sid)
    now = datetime.now(UTC)
    session.add(
        LayerVersionPermission(
            layer_name=name, version=version, statement_id=sid, statement=statement, created_at=now
        )
    )
    row.policy_revision_id = str(uuid.uuid4())
    session.add(row)
    await session.flush()
    return row.policy_revision_id


async def remove_statement(
    session: AsyncSession, name: str, version: int, statement_id: str, revision_id: str | None
) -> None:
    row = await _locked(session, name, version, revision_id)
    found = await session.get(LayerVersionPermission, (name, version, statement_id))
    if found is None:
        raise StatementNotFound(statement_id)
    await session.delete(found)
    row.policy_revision_id = str(uuid.uuid4())
    session.add(row)
    await session.flush()
