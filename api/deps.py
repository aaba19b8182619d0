"""Request dependencies: one unit of work per request, the Temporal client, the settings.

All are coroutines: FastAPI runs a plain function dependency in its thread pool, a thread hop per
request for what is an attribute read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.state import AppState
from foundation.settings import Settings


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.stepline
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """A session in a transaction, committed after the route returns (rolled back if it raises)."""
    async with state.sessions() as session, session.begin():
        yield session


async def get_temporal(state: StateDep) -> Client:
    return state.temporal


async def get_settings(state: StateDep) -> Settings:
    return state.settings


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
TemporalDep = Annotated[Client, Depends(get_temporal)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
