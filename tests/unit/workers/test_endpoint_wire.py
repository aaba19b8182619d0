"""The invoke endpoint's wire (workers/endpoint/wire.py): what crosses between the API and a worker
comes back as it went, and a request that breaks the rules is refused with the right status."""

from __future__ import annotations

import asyncio

import pytest

from statemachine import FunctionCall, FunctionResult
from workers.endpoint import wire
from workers.functions.errors import ServiceError, TooManyRequestsError

TOKEN = b"t" * 64


def reader_of(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_a_request_and_a_result_cross_unchanged() -> None:
    call = FunctionCall(
        "fn:3", b'{"a": "\\n\\r\\n"}\n\x00\xff', timeout_seconds=2.5, state_name="T", client_context="e30="
    )
    meta, payload = wire.to_meta(call)
    path, got_meta, got_payload = await wire.read_request(
        reader_of(wire.request_bytes(wire.INVOKE_TASK, TOKEN, meta, payload)), TOKEN
    )
    assert path == wire.INVOKE_TASK
    assert wire.from_meta(FunctionCall, got_meta, got_payload) == call

    result = FunctionResult(
        b"\xff not json", function_error="Unhandled", executed_version="7", request_id="r",
        error_type="Bad\r\nX-Forged: 1", log_result="bG9n", init_duration_ms=1.5,
    )  # fmt: skip
    status, got, body = await wire.read_response(reader_of(wire.response_bytes(200, *wire.to_meta(result))))
    assert status == 200 and wire.from_meta(FunctionResult, got, body) == result


@pytest.mark.parametrize(
    ("message", "status"),
    [
        (b"GET /invoke HTTP/1.1\r\n\r\n", 400),
        (b"POST /invoke HTTP/1.1\r\nContent-Length: 3\r\n\r\n{}\n", 401),
        (b"POST /invoke HTTP/1.1\r\nAuthorization: Bearer nope\r\nContent-Length: 3\r\n\r\n{}\n", 401),
        (
            b"POST /admin HTTP/1.1\r\nAuthorization: Bearer " + TOKEN + b"\r\nContent-Length: 3\r\n\r\n{}\n",
            404,
        ),
        (b"POST /invoke HTTP/1.1\r\nAuthorization: Bearer " + TOKEN + b"\r\n\r\n", 400),
        (
            b"POST /invoke HTTP/1.1\r\nAuthorization: Bearer "
            + TOKEN
            + b"\r\nContent-Length: 99999999\r\n\r\n",
            413,
        ),
        (
            b"POST /invoke HTTP/1.1\r\nAuthorization: Bearer " + TOKEN + b"\r\nContent-Length: 3\r\n\r\n[]\n",
            400,
        ),
    ],
)
async def test_requests_that_break_the_rules_are_refused(message: bytes, status: int) -> None:
    with pytest.raises(wire.WireError) as refused:
        await wire.read_request(reader_of(message), TOKEN)
    assert refused.value.status == status


def test_errors_keep_their_code_and_status_and_unknown_ones_are_the_workers_failure() -> None:
    throttled = wire.invoke_error(*wire.error_meta(TooManyRequestsError("Rate exceeded")))
    assert isinstance(throttled, TooManyRequestsError) and throttled.status == 429
    assert throttled.message == "Rate exceeded"
    refused = wire.invoke_error(401, wire.WireError(401, "a bearer token").meta())
    assert type(refused) is ServiceError and "401 Unauthorized" in refused.message
