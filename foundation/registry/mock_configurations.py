"""The mock configuration the operator loaded (Step Functions Local's MockConfigFile), one row.

Executions started as ``stateMachineArn#TestCase`` read it when they start: the test case's mocked
responses travel with the execution, so loading another file later changes no running execution.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Integer, Text
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)

CURRENT = 1
"""The id of the one row."""


class MockConfiguration(SQLModel, table=True):
    """The loaded MockConfigFile, as the JSON text given."""

    __tablename__ = "mock_configuration"

    id: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False, autoincrement=False))
    document: str = Field(sa_column=Column(Text, nullable=False))
    loaded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


async def load(session: AsyncSession, document: str, now: datetime) -> MockConfiguration:
    """Replace the loaded configuration with ``document``."""
    row = await session.merge(MockConfiguration(id=CURRENT, document=document, loaded_at=now))
    await session.flush()
    return row


async def current(session: AsyncSession) -> MockConfiguration | None:
    """The loaded configuration, None when none was loaded."""
    return await session.get(MockConfiguration, CURRENT)
