"""Mock configurations on ``/v1``: a MockConfigFile named in ``STEPLINE_MOCK_CONFIG_FILE``, read when
an execution starts with ``testCase`` (edits apply to the next one); GET shows where cases come from."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from foundation.settings import Settings
from tests.integration.helpers import create_machine, start, wait_until_done

pytestmark = pytest.mark.integration


async def test_a_test_case_from_the_settings_file(
    api: httpx.AsyncClient, worker: None, settings: Settings, tmp_path: Path
) -> None:
    name = await create_machine(
        api,
        {"StartAt": "Call", "States": {"Call": {
            "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:absent", "End": True,
        }}},
    )  # fmt: skip
    file = tmp_path / "mocks.json"

    def write(result: object) -> None:
        cases = {name: {"TestCases": {"FromFile": {"Call": "Answer"}}}}
        file.write_text(
            json.dumps({"StateMachines": cases, "MockedResponses": {"Answer": {"0": {"Return": result}}}})
        )

    write({"first": True})
    settings.mock_config_file = file
    first = await start(api, name, {}, testCase="FromFile")
    assert (await wait_until_done(api, first["executionId"]))["output"] == {"first": True}
    write({"second": True})  # read again for the next execution
    second = await start(api, name, {}, testCase="FromFile")
    assert (await wait_until_done(api, second["executionId"]))["output"] == {"second": True}
    sources = (await api.get("/v1/mock-configuration")).json()["configurations"]
    assert any(s["source"].startswith("STEPLINE_MOCK_CONFIG_FILE") for s in sources)

    missing = await api.post(f"/v1/state-machines/{name}/executions", json={"testCase": "Other"})
    assert missing.status_code == 400 and "'Other'" in missing.text
    file.write_text("{not json")
    broken = await api.post(f"/v1/state-machines/{name}/executions", json={"testCase": "FromFile"})
    assert broken.status_code == 400 and "STEPLINE_MOCK_CONFIG_FILE" in broken.text
