"""StartExecution's checks and the Jackson-worded JSON errors they share with validation."""

from __future__ import annotations

import pytest

from statemachine.start import StartError, check_start
from statemachine.validation.json_text import JsonTextError, parse_json_text

INVALID = "Invalid State Machine Execution Input: "


@pytest.mark.parametrize(
    ("machine_type", "text", "sync", "expected"),
    [
        ("STANDARD", '{"a": 1}', False, None),
        ("STANDARD", None, False, None),
        ("EXPRESS", "{}", True, None),
        (
            "STANDARD",
            "{}",
            True,
            StartError(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            ),
        ),
        ("STANDARD", "", False, StartError("InvalidExecutionInput", INVALID + "'Invalid execution input.'")),
        (
            "STANDARD",
            "{'not': 'json'",
            False,
            StartError(
                "InvalidExecutionInput",
                INVALID
                + "'Unexpected character (''' (code 39)): was expecting double-quote to start field name'",
            ),
        ),
        (
            "STANDARD",
            "not some json",
            False,
            StartError(
                "InvalidExecutionInput",
                INVALID
                + "'Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token "
                "'null', 'true' or 'false')'",
            ),
        ),
    ],
    ids=["object", "no-input", "express-sync", "standard-sync", "empty", "single-quotes", "bare-word"],
)
def test_check_start(machine_type: str, text: str | None, sync: bool, expected: StartError | None) -> None:
    assert check_start(machine_type, text, sync) == expected


def test_input_over_256_kib_is_refused() -> None:
    refused = check_start("STANDARD", '"' + "a" * 262144 + '"', False)
    assert refused is not None and refused.code == "ValidationException"


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ('{"a":}', "Unexpected character ('}' (code 125)): expected a valid value", 6),
        ('{"a" 1}', "Unexpected character ('1' (code 49)): was expecting a colon", 6),
        ("[1,", "Unexpected end-of-input: expected close marker for Array", 4),
        ('"abc', "Unexpected end-of-input in VALUE_STRING", 5),
        ("1 2", "Unexpected character ('2' (code 50)): expected end-of-input", 3),
        ("not a definition", "Unrecognized token 'not'", 4),
        ('{"a": NaN}', "Non-standard token 'NaN'", 7),
        ("[1, -Infinity]", "Non-standard token '-Infinity'", 5),
        ('{"big": 1e999}', "Numeric value (1e999) out of range of double", 9),
    ],
)
def test_json_errors_are_worded_like_jackson(text: str, message: str, column: int) -> None:
    with pytest.raises(JsonTextError) as info:
        parse_json_text(text)
    assert info.value.message.startswith(message)
    assert info.value.column == column
    assert info.value.source == f'[Source: (String)"{text}"; line: 1, column: {column}]'
