"""Task states through the function runtime: the Invoker contract and executions on Temporal."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client

from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from statemachine.errors import StatesError
from statemachine.host import FunctionCall
from tests.integration.function_kit import deploy, fn_settings, requires_bwrap, service, unique
from tests.integration.helpers import create_machine, start, wait_until_done
from workers.functions.service import FunctionService

__all__ = ["fn_settings", "service"]
pytestmark = [requires_bwrap]

CODE = """
import time
def double(event, context):
    return {"n": event["n"] * 2, "version": context.function_version}
def fail(event, context):
    raise ValueError("odd " + str(event["n"]))
def slow(event, context):
    time.sleep(event.get("seconds", 5))
    return "late"
def latin1(event, context):
    return b'"caf\\xe9"'
"""


@pytest.mark.parametrize(
    "ref",
    ["{name}", "{name}:$LATEST", "arn:aws:lambda:us-east-1:000000000000:function:{name}",
     "arn:aws:lambda:local:000000000000:function:{name}:1"],
    ids=["name", "name-qualifier", "arn", "arn-version"],
)  # fmt: skip
async def test_function_named_by_name_or_arn(service: FunctionService, ref: str) -> None:
    name = await deploy(service, unique("dbl"), {"app.py": CODE}, handler="app.double")
    async with unit_of_work(service.sessions) as session:
        await registry.publish_version(session, name, None)
    result = await service.invoke_for_state_machine(FunctionCall(ref.format(name=name), b'{"n": 21}'))
    expected_version = "1" if ref.endswith(":1") else "$LATEST"
    assert json.loads(result.payload) == {"n": 42, "version": expected_version}
    assert result.function_error is None and result.executed_version == expected_version


async def test_function_error_is_a_result_not_an_exception(service: FunctionService) -> None:
    name = await deploy(service, unique("fail"), {"app.py": CODE}, handler="app.fail")
    result = await service.invoke_for_state_machine(FunctionCall(name, b'{"n": 3}'))
    assert result.function_error == "Unhandled"
    assert json.loads(result.payload)["errorType"] == "ValueError"


async def test_invocation_failures_raise_states_errors_named_by_step_functions(
    service: FunctionService,
) -> None:
    with pytest.raises(StatesError) as missing:
        await service.invoke_for_state_machine(FunctionCall("no-such-function", b"{}"))
    assert missing.value.name == "Lambda.ResourceNotFoundException"
    assert missing.value.cause is not None
    assert missing.value.cause.startswith(
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function:$LATEST "
        "(Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: "
    )
    assert missing.value.cause.endswith("; Proxy: null)")

    name = await deploy(service, unique("slow"), {"app.py": CODE}, handler="app.slow", timeout=30)
    with pytest.raises(StatesError) as timeout:
        await service.invoke_for_state_machine(FunctionCall(name, b'{"seconds": 5}', timeout_seconds=0.5))
    assert timeout.value.name == "States.Timeout"

    with pytest.raises(StatesError) as too_large:
        await service.invoke_for_state_machine(FunctionCall(name, json.dumps("x" * 300_000).encode()))
    assert too_large.value.name == "Lambda.RequestTooLargeException"

    async with unit_of_work(service.sessions) as session:
        await registry.set_concurrency(session, name, 0, 0)
    await service.forget(name)
    with pytest.raises(StatesError) as throttled:
        await service.invoke_for_state_machine(FunctionCall(name, b"{}"))
    assert throttled.value.name == "Lambda.TooManyRequestsException"


@pytest.fixture
async def function_worker(
    settings: Settings, temporal_client: Client, service: FunctionService
) -> AsyncIterator[None]:
    """A worker on the test's task queue whose Task states run in the real function runtime."""
    from workers.activities import Activities
    from workers.worker import build_worker

    async with build_worker(
        temporal_client, settings.temporal.task_queue, Activities(service.sessions, service)
    ):
        yield


@pytest.mark.usefixtures("function_worker")
async def test_execution_runs_functions_through_both_resource_forms(
    api: httpx.AsyncClient, service: FunctionService
) -> None:
    double = await deploy(service, unique("dbl"), {"app.py": CODE}, handler="app.double")
    fail = await deploy(service, unique("fail"), {"app.py": CODE}, handler="app.fail")
    definition = {
        "StartAt": "Direct",
        "States": {
            "Direct": {"Type": "Task", "Resource": f"arn:aws:lambda:us-east-1:000000000000:function:{double}",
                       "Next": "Integration"},
            "Integration": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": double, "Payload": {"n.$": "$.n"}},
                "ResultSelector": {"payload.$": "$.Payload", "status.$": "$.StatusCode"},
                "ResultPath": "$.integration",
                "Next": "Failing",
            },
            "Failing": {
                "Type": "Task", "Resource": f"arn:aws:lambda:us-east-1:000000000000:function:{fail}",
                "ResultPath": "$.never",
                "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.caught", "Next": "Done"}],
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }  # fmt: skip
    machine = await create_machine(api, definition)
    done = await wait_until_done(api, (await start(api, machine, {"n": 5}))["executionId"], seconds=60)
    assert done["status"] == "SUCCEEDED", done
    output = done["output"]
    assert output["n"] == 10
    assert output["integration"] == {"payload": {"n": 20, "version": "$LATEST"}, "status": 200}
    assert output["caught"]["Error"] == "ValueError"
    assert json.loads(output["caught"]["Cause"])["errorMessage"] == "odd 10"


@pytest.mark.usefixtures("function_worker")
async def test_a_result_that_is_not_utf8_crosses_temporal_as_it_is(
    api: httpx.AsyncClient, service: FunctionService
) -> None:
    """The payload is bytes from the sandbox to the interpreter: a result that is not UTF-8 reaches the
    state as the interpreter reads any result that is not JSON (text, with replacement characters),
    not as a failure of the activity that carried it."""
    name = await deploy(service, unique("latin"), {"app.py": CODE}, handler="app.latin1")
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    machine = await create_machine(
        api, {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": arn, "End": True}}}
    )
    done = await wait_until_done(api, (await start(api, machine, {}))["executionId"], seconds=60)
    assert done["status"] == "SUCCEEDED", done
    assert done["output"] == '"caf\ufffd"'
