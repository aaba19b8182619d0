"""Step Functions' TestState over ``api.services.test_state``: the request's JSON texts decoded, the
inspection's values sent back as JSON texts. ``roleArn`` is accepted and not used (no IAM);
``revealSecrets`` matters to HTTP Tasks' request data, which this Stepline does not show yet.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from api.aws.errors import AwsError
from api.aws.json_protocol import Call
from api.aws.models import operation_model
from api.services import test_state as service
from statemachine import JSON


@functools.cache
def _shown() -> frozenset[str]:
    """The ``inspectionData`` members in botocore's model (``errorOutput`` is not one)."""
    output = operation_model("stepfunctions", "TestState").output_shape
    assert output is not None
    return frozenset(output.members["inspectionData"].members)


_UNSUPPORTED_CONFIGURATION = ("errorCausedByState", "mapIterationFailureCount", "mapItemReaderData")


def _decoded(text: str, what: str, code: str = "ValidationException") -> JSON:
    try:
        value: JSON = json.loads(text)
    except ValueError as exc:
        raise AwsError(code, f"{what} is not valid JSON: {exc}") from None
    return value


def _text(value: JSON) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _mock(given: dict[str, Any] | None) -> service.Mock | None:
    if given is None:
        return None
    if ("result" in given) == ("errorOutput" in given):
        raise AwsError("ValidationException", "A mock must have exactly one of result and errorOutput")
    if "result" in given:
        return service.Mock(result=_decoded(given["result"], "mock.result"))
    error = given["errorOutput"]
    return service.Mock(error=error.get("error") or "", cause=error.get("cause"))


def _request(params: dict[str, Any]) -> service.TestStateRequest:
    if params.get("context") is not None:
        raise AwsError("ValidationException", "context is not supported by this Stepline's TestState")
    configuration = params.get("stateConfiguration") or {}
    for key in _UNSUPPORTED_CONFIGURATION:
        if key in configuration:
            raise AwsError(
                "ValidationException",
                f"stateConfiguration.{key} is not supported by this Stepline's TestState",
            )
    variables = _decoded(params.get("variables") or "{}", "variables")
    if not isinstance(variables, dict):
        raise AwsError("ValidationException", "variables must be a JSON object")
    return service.TestStateRequest(
        definition=params["definition"],
        input=_decoded(params.get("input") or "{}", "input", "InvalidExecutionInput"),
        state_name=params.get("stateName"),
        level=params.get("inspectionLevel") or "INFO",
        variables=variables,
        mock=_mock(params.get("mock")),
        retry_count=configuration.get("retrierRetryCount", 0),
    )


async def test_state(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    inspection = await service.test_state(call.state, _request(params))
    ended_well = inspection.status in ("SUCCEEDED", "CAUGHT_ERROR")
    data = {k: _text(v) for k, v in inspection.inspection_data().items() if k in _shown()}
    return {
        "output": _text(inspection.output) if ended_well else None,
        "error": inspection.error,
        "cause": inspection.cause,
        "inspectionData": data if params.get("inspectionLevel", "INFO") != "INFO" else None,
        "nextState": inspection.next_state,
        "status": inspection.status,
    }
