"""Definitions and inputs as the API receives them."""

from __future__ import annotations

import pytest

from api.services.definitions import MAX_INPUT_BYTES, checked_definition, decode_definition, encode_input
from foundation.errors import InvalidRequest, PayloadTooLarge
from statemachine.errors import DefinitionError

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def test_definition_text_is_kept_verbatim() -> None:
    text = '{"StartAt": "P",\n "States": {"P": {"Type": "Pass", "End": true}}}'
    assert decode_definition(text) == (text, PASS)


def test_definition_object_is_serialised() -> None:
    text, decoded = decode_definition(PASS)
    assert decoded is PASS and '"StartAt": "P"' in text


@pytest.mark.parametrize(
    ("raw", "message"),
    [('{"StartAt": ', "line 1, column 13"), ("[1, 2]", "JSON object, not list"), ('"x"', "not str")],
    ids=["truncated", "array", "string"],
)
def test_bad_definition_text_names_the_problem(raw: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_definition(raw)
    assert message in caught.value.detail
    assert caught.value.problems[0]["location"] == "/definition"


def test_invalid_definition_raises_every_error() -> None:
    bad = {"StartAt": "Missing", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    with pytest.raises(DefinitionError) as caught:
        checked_definition(bad)
    assert len(caught.value.diagnostics) >= 2
    assert all(d.severity == "ERROR" for d in caught.value.diagnostics)


def test_missing_input_is_an_empty_object() -> None:
    assert encode_input(None) == "{}"


def test_input_up_to_the_limit_is_accepted_and_one_byte_more_is_413() -> None:
    fits = "x" * (MAX_INPUT_BYTES - 2)  # two quotes
    assert len(encode_input(fits)) == MAX_INPUT_BYTES
    with pytest.raises(PayloadTooLarge, match=f"{MAX_INPUT_BYTES + 1} bytes"):
        encode_input(fits + "x")


def test_input_size_counts_utf8_bytes() -> None:
    with pytest.raises(PayloadTooLarge):
        encode_input("é" * (MAX_INPUT_BYTES // 2))
