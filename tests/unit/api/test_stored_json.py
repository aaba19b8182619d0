"""api.stored_json: stored JSON text served verbatim (any depth), with Python's NaN/Infinity as null."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from api.stored_json import json_response, strict_json


@pytest.mark.parametrize(
    ("text", "served"),
    [
        ('{"a":[1,2]}', '{"a":[1,2]}'),
        ('{"a":NaN,"b":[Infinity,-Infinity]}', '{"a":null,"b":[null,null]}'),
        ('{"NaN":"Infinity NaN","x":"\\"NaN"}', '{"NaN":"Infinity NaN","x":"\\"NaN"}'),
        ('["\\\\",NaN]', '["\\\\",null]'),
    ],
    ids=["plain", "non-standard-numbers", "in-strings", "escaped-backslash-before-quote"],
)
def test_strict_json(text: str, served: str) -> None:
    assert strict_json(text) == served


class Shown(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    execution_id: str
    input: Any = None
    output: Any = None


def test_fields_are_spliced_in_as_their_text() -> None:
    deep = "[" * 5000 + "1" + "]" * 5000
    response = json_response(Shown(execution_id="e"), input=deep, output=None)
    assert response.media_type == "application/json"
    assert bytes(response.body) == ('{"executionId":"e","input":' + deep + ',"output":null}').encode()


def test_a_model_with_no_other_field() -> None:
    class Only(BaseModel):
        value: Any = None

    assert json.loads(bytes(json_response(Only(), value='{"a":NaN}').body)) == {"value": {"a": None}}
