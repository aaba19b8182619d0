"""Resource-based policy statements of functions (Lambda's AddPermission / GetPolicy / RemovePermission).

Stored and returned as Lambda does, not enforced (Stepline has no principals to check them against).
``qualifier`` is ``""`` for the unqualified function, else a version number. Repositories never commit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, String, delete
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, NotFound


class FunctionPermission(SQLModel, table=True):
    """One policy statement; deleted with its function."""

    __tablename__ = "function_permission"

    function_name: str = Field(
        sa_column=Column(
            String(64), ForeignKey("function.name", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    qualifier: str = Field(sa_column=Column(String(128), primary_key=True, nullable=False))
    statement_id: str = Field(sa_column=Column(String(100), primary_key=True, nullable=False))
    statement: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class StatementExists(Conflict):
    def __init__(self, statement_id: str) -> None:
        self.statement_id = statement_id
        super().__init__(
            f"The statement id ({statement_id}) provided already exists. Please provide a new "
            "statement id, or remove the existing statement."
        )


class StatementNotFound(NotFound):
    def __init__(self, statement_id: str) -> None:
        self.statement_id = statement_id
        super().__init__(f"Statement {statement_id} is not found in resource policy.")


async def add_statement(
    session: AsyncSession, function_name: str, qualifier: str, statement_id: str, statement: dict[str, Any]
) -> FunctionPermission:
    if await session.get(FunctionPermission, (function_name, qualifier, statement_id)) is not None:
        raise StatementExists(statement_id)
    row = FunctionPermission(
        function_name=function_name, qualifier=qualifier, statement_id=statement_id, statement=statement,
        created_at=datetime.now(UTC),
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def list_statements(session: AsyncSession, function_name: str, qualifier: str) -> list[dict[str, Any]]:
    query = select(FunctionPermission).where(
        col(FunctionPermission.function_name) == function_name, col(FunctionPermission.qualifier) == qualifier
    )
    rows = (await session.exec(query.order_by(col(FunctionPermission.created_at)))).all()
    return [row.statement for row in rows]


async def remove_statement(
    session: AsyncSession, function_name: str, qualifier: str, statement_id: str
) -> None:
    row = await session.get(FunctionPermission, (function_name, qualifier, statement_id))
    if row is None:
        raise StatementNotFound(statement_id)
    await session.delete(row)
    await session.flush()


async def delete_qualifier_statements(session: AsyncSession, function_name: str, qualifier: str) -> None:
    """Forget a deleted version's policy (the function's own are removed by the foreign key)."""
    await session.exec(
        delete(FunctionPermission).where(
            col(FunctionPermission.function_name) == function_name,
            col(FunctionPermission.qualifier) == qualifier,
        )
    )
