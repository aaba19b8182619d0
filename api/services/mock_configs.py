"""The mock configuration (Step Functions Local's MockConfigFile) and the test cases executions
started as ``stateMachineArn#TestCase`` take from it.

The operator loads one through ``PUT /v1/mock-configuration`` (kept in the registry) or names a
file in ``STEPLINE_MOCK_CONFIG_FILE`` (read when a test case is asked for, so edits apply to the
next execution); a test case is looked up in the loaded one first, then in the file. A document
that is not a MockConfigFile is refused with the problem and its JSON pointer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from api.state import AppState
from foundation.errors import InvalidRequest
from foundation.registry import mock_configurations as registry
from foundation.registry.database import unit_of_work
from statemachine import MockConfig, MockConfigError, MockTestCase, parse_mock_config

MAX_DOCUMENT_BYTES = 1024 * 1024


def _checked(document: Any, source: str) -> MockConfig:
    try:
        return parse_mock_config(document)
    except MockConfigError as exc:
        raise InvalidRequest(
            f"{source} is not a mock configuration: {exc.message} at {exc.location or '/'}",
            [{"location": exc.location or "/", "message": exc.message}],
        ) from None


async def load(session: AsyncSession, document: Any) -> dict[str, Any]:
    """Check and keep ``document``; the machines and test cases it defines."""
    config = _checked(document, "the document")
    text = json.dumps(document)
    if len(text.encode()) > MAX_DOCUMENT_BYTES:
        raise InvalidRequest(f"a mock configuration is at most {MAX_DOCUMENT_BYTES} bytes")
    await registry.load(session, text, datetime.now(UTC))
    return summary(config)


def summary(config: MockConfig) -> dict[str, Any]:
    return {"stateMachines": {m: sorted(cases) for m, cases in sorted(config.cases.items())}}


async def sources(state: AppState) -> list[tuple[Any, str]]:
    """The configurations to look test cases up in, in order: the loaded one, then the settings' file."""
    found: list[tuple[Any, str]] = []
    async with unit_of_work(state.sessions) as session:
        row = await registry.current(session)
    if row is not None:
        found.append((json.loads(row.document), "the loaded mock configuration"))
    path = state.settings.mock_config_file
    if path is not None:
        source = f"STEPLINE_MOCK_CONFIG_FILE ({path})"
        try:
            found.append((json.loads(path.read_text()), source))
        except (OSError, ValueError) as exc:
            raise InvalidRequest(f"{source} cannot be read as JSON: {exc}") from None
    return found


async def test_case(state: AppState, machine: str, case: str) -> str:
    """Test case ``case`` of ``machine`` as the workflow takes it (JSON text): from the loaded
    configuration, else from the settings' file."""
    found = await sources(state)
    if not found:
        raise InvalidRequest(
            f"'{machine}#{case}' names a test case, but no mock configuration is loaded: set "
            "STEPLINE_MOCK_CONFIG_FILE or PUT /v1/mock-configuration",
            [{"location": "/stateMachineArn", "code": "ValidationException"}],
        )
    for document, source in found:
        responses = _checked(document, source).test_case(machine, case)
        if responses is not None:
            return json.dumps(MockTestCase(responses).to_json())
    raise InvalidRequest(
        f"no mock configuration has a test case '{case}' for state machine '{machine}' "
        f"(looked in {' and '.join(source for _, source in found)})",
        [{"location": "/stateMachineArn", "code": "ValidationException"}],
    )
