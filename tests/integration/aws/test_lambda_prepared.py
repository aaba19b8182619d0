"""Lambda's proactive initialization through unmodified boto3: CreateFunction, UpdateFunctionConfiguration
and PublishVersion of a container-image function prepare the environment its first cold start takes
(the function Pending, its update InProgress meanwhile, as the SDK waiters expect), so that
environment's process is already running (older than the time the test waited) when the first
invocation arrives."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import image_builder as build
from tests.integration.aws.conftest import client
from tests.integration.aws.lambda_kit import ROLE, checked, unique
from tests.integration.aws.server import ServerThread, own_settings
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
WAIT_SECONDS = 1.5
"""How long the test waits after a deployment: an environment prepared by it is at least this old
by the first invocation, less the moment its start took (an environment started by the invocation
itself is milliseconds old)."""


@pytest.fixture(scope="module")
def url(own_database: str, temporal_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API and its worker with spare sandboxes, the test image imported (under a name of its own
    database: image names are registry rows, and other modules list the names of the same image)."""
    archive = build.write_tar(
        build.layout_files(build.python_image(), "prepared:v1"), tmp_path_factory.mktemp("image") / "i.tar"
    )
    spares = {"spare_environments": 1}
    with (
        own_settings(own_database, temporal_address, "prepared", sandbox=spares) as settings,
        ServerThread(settings) as served,
    ):
        imported = httpx.post(f"{served}/v1/images", content=archive.read_bytes(), timeout=60)
        assert imported.status_code == 201, imported.text
        yield served


def create_image_function(lam: Any, prefix: str, greeting: str) -> tuple[str, dict[str, Any]]:
    """A function of the test image with ``GREETING`` set: its name and CreateFunction's answer."""
    name = unique(prefix)
    created = checked(
        lam, "CreateFunction", FunctionName=name, Role=ROLE, PackageType="Image",
        Code={"ImageUri": f"{ECR}/prepared:v1"}, Environment={"Variables": {"GREETING": greeting}},
    )  # fmt: skip
    return name, created


def invoke_after_waiting(lam: Any, name: str, qualifier: str = "$LATEST") -> dict[str, Any]:
    time.sleep(WAIT_SECONDS)
    answer = checked(
        lam, "Invoke", FunctionName=name, Qualifier=qualifier,
        Payload=json.dumps({"age": True, "env": ["GREETING"]}).encode(),
    )  # fmt: skip
    assert "FunctionError" not in answer, answer["Payload"]
    seen: dict[str, Any] = json.loads(answer["Payload"])
    return seen


def test_deployments_prepare_the_environment_of_an_image_functions_first_cold_start(url: str) -> None:
    lam = client(url, "lambda")
    name, created = create_image_function(lam, "prepared", "a")
    assert (created["State"], created["StateReasonCode"], created["LastUpdateStatus"]) == (
        "Pending", "Creating", "InProgress",
    )  # fmt: skip
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    got = checked(lam, "GetFunctionConfiguration", FunctionName=name)
    assert (got["State"], got["LastUpdateStatus"]) == ("Active", "Successful") and "StateReason" not in got
    first = invoke_after_waiting(lam, name)
    assert first["env"] == {"GREETING": "a"} and first["age"] > WAIT_SECONDS / 2, first

    variables = {"Variables": {"GREETING": "b"}}
    updated = checked(lam, "UpdateFunctionConfiguration", FunctionName=name, Environment=variables)
    assert (updated["State"], updated["LastUpdateStatus"]) == ("Active", "InProgress")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    again = invoke_after_waiting(lam, name)  # the new configuration's environment, prepared
    assert again["env"] == {"GREETING": "b"} and again["age"] > WAIT_SECONDS / 2, again

    version = checked(lam, "PublishVersion", FunctionName=name)["Version"]
    published = invoke_after_waiting(lam, name, version)
    assert published["env"] == {"GREETING": "b"} and published["age"] > WAIT_SECONDS / 2, published


def test_a_pending_function_is_invoked_once_its_environment_is_prepared(url: str) -> None:
    """Lambda refuses an invocation while Pending; Stepline lets it wait for the environment being
    prepared, so a client that does not wait for Active still gets an answer (from that environment)."""
    lam = client(url, "lambda")
    name, created = create_image_function(lam, "eager", "now")
    assert created["State"] == "Pending"
    answer = checked(lam, "Invoke", FunctionName=name, Payload=json.dumps({"env": ["GREETING"]}).encode())
    assert json.loads(answer["Payload"])["env"] == {"GREETING": "now"}, answer["Payload"]
