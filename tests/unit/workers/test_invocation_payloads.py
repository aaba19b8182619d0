"""An invocation crosses Temporal as it is: ``FunctionCall`` and ``FunctionResult`` through
``workers.payloads.DATA_CONVERTER``, payload bytes untouched, and the JSON of older histories still read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadConverter

from statemachine import FunctionCall, FunctionResult
from workers.contracts import ExecutionResult
from workers.payloads import CALL_ENCODING, DATA_CONVERTER, FIELDS, RESULT_ENCODING

CONVERTER: PayloadConverter = DATA_CONVERTER.payload_converter
NOT_UTF8 = b'{"name": "caf\xe9"}\xff'


def round_trip(value: Any, hint: type) -> tuple[Payload, Any]:
    [payload] = CONVERTER.to_payloads([value])
    [back] = CONVERTER.from_payloads([Payload.FromString(payload.SerializeToString())], [hint])
    return payload, back


def test_a_call_travels_with_its_payload_bytes_as_the_payload_data() -> None:
    call = FunctionCall(
        "arn:aws:lambda:us-east-1:000000000000:function:f:1", NOT_UTF8, timeout_seconds=2.5,
        heartbeat_seconds=10.0, state_name="Call", client_context="eyJjdXN0b20iOnt9fQ==",
    )  # fmt: skip
    payload, back = round_trip(call, FunctionCall)
    assert payload.metadata["encoding"] == CALL_ENCODING.encode()
    assert payload.data == NOT_UTF8
    assert back == call


def test_a_result_travels_with_every_field() -> None:
    result = FunctionResult(
        NOT_UTF8, "Unhandled", "3", "req-1", error_type="Runtime.ExitError", duration_ms=12.25,
        init_duration_ms=140.5, max_memory_mb=41, log_result="U1RBUlQ=",
    )  # fmt: skip
    payload, back = round_trip(result, FunctionResult)
    assert payload.metadata["encoding"] == RESULT_ENCODING.encode()
    assert payload.data == NOT_UTF8
    assert back == result


def test_only_the_fields_off_their_defaults_are_written() -> None:
    payload, back = round_trip(FunctionResult(b"{}"), FunctionResult)
    assert json.loads(payload.metadata[FIELDS]) == {}
    assert back == FunctionResult(b"{}")


def test_a_field_a_newer_version_added_is_ignored() -> None:
    payload = Payload(
        metadata={"encoding": RESULT_ENCODING.encode(), FIELDS: b'{"request_id": "r", "shiny_new": 1}'},
        data=b"1",
    )
    assert CONVERTER.from_payloads([payload], [FunctionResult]) == [FunctionResult(b"1", request_id="r")]


def test_the_json_of_older_histories_is_read() -> None:
    """What ``invoke_function`` took and returned before (``InvokeRequest``/``InvokeResponse``: the
    payload as text, an ``execution_id`` the activity never used)."""
    plain = DataConverter.default.payload_converter
    request = {"function": "f", "payload": '{"a": "é"}', "timeout_seconds": 3.0, "heartbeat_seconds": None,
               "state_name": "Call", "execution_id": "e-1"}  # fmt: skip
    response = {"payload": '{"n": 2}', "function_error": None, "executed_version": "$LATEST",
                "request_id": "r-1", "status_code": 200}  # fmt: skip
    [call] = CONVERTER.from_payloads(plain.to_payloads([request]), [FunctionCall])
    [result] = CONVERTER.from_payloads(plain.to_payloads([response]), [FunctionResult])
    assert call == FunctionCall("f", '{"a": "é"}'.encode(), timeout_seconds=3.0, state_name="Call")
    assert result == FunctionResult(b'{"n": 2}', request_id="r-1")


def test_other_values_keep_temporals_json() -> None:
    @dataclass(frozen=True)
    class Other:
        text: str
        blob: bytes

    done = ExecutionResult("SUCCEEDED", output="{}")
    [payload] = CONVERTER.to_payloads([done])
    assert payload.metadata["encoding"] == b"json/plain"
    assert CONVERTER.from_payloads([payload], [ExecutionResult]) == [done]
    [payload] = CONVERTER.to_payloads([Other("x", b"ab")])
    assert CONVERTER.from_payloads([payload], [Other]) == [Other("x", b"ab")]
