"""``/v1/mock-configuration``: load and read the MockConfigFile executions started as
``stateMachineArn#TestCase`` (``testCase`` on ``/v1``) take their mocked responses from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import SessionDep, StateDep
from api.json_input import JsonRoute
from api.services import mock_configs as service
from foundation.errors import NotFound

router = APIRouter(prefix="/v1/mock-configuration", tags=["state machines"], route_class=JsonRoute)


@router.put("")
async def load_mock_configuration(body: dict[str, Any], session: SessionDep) -> dict[str, Any]:
    """Replace the loaded configuration; answers the machines and test cases it defines."""
    return await service.load(session, body)


@router.get("")
async def read_mock_configuration(state: StateDep) -> dict[str, Any]:
    """The configurations test cases are looked up in, in that order."""
    found = await service.sources(state)
    if not found:
        raise NotFound("no mock configuration is loaded (STEPLINE_MOCK_CONFIG_FILE is not set either)")
    return {"configurations": [{"source": source, "document": document} for document, source in found]}
