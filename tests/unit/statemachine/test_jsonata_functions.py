"""The value conversions between plain JSON and the JSONata engine."""

from __future__ import annotations

import pytest
from jsonata.utils import Utils

from statemachine.json_types import JSON
from statemachine.jsonata.functions import to_engine, to_json

NULL = Utils.NULL_VALUE


@pytest.mark.parametrize(
    "value",
    [1, "x", True, [], {}, [1, "a", [2, {"b": 3}]], {"a": {"b": [1, 2]}, "c": None}],
    ids=["int", "str", "bool", "empty-list", "empty-dict", "nested-list", "dict-with-null-value"],
)
def test_to_engine_returns_the_same_object_when_nothing_changes(value: JSON) -> None:
    assert to_engine(value) is value


def test_to_engine_marks_nulls_in_arrays_and_copies_only_the_changed_path() -> None:
    untouched: JSON = {"k": [1]}
    value: dict[str, JSON] = {"list": [None, {"deep": [None]}], "same": untouched, "n": None}
    converted = to_engine(value)
    assert converted["list"][0] is NULL
    assert converted["list"][1]["deep"][0] is NULL
    assert converted["same"] is untouched
    assert converted["n"] is None  # object members keep None: the engine reads it as null there
    assert value == {"list": [None, {"deep": [None]}], "same": {"k": [1]}, "n": None}


def test_to_engine_marks_a_top_level_null() -> None:
    assert to_engine(None) is NULL


def test_to_json_turns_engine_values_back_into_fresh_plain_json() -> None:
    inner = {"a": [NULL, 1]}
    result = to_json([inner, NULL, Utils.create_sequence_from_iter([1, 2])])
    assert result == [{"a": [None, 1]}, None, [1, 2]]
    assert isinstance(result, list)
    assert result[0] is not inner
    assert type(result[2]) is list


def test_to_json_refuses_functions() -> None:
    with pytest.raises(TypeError):
        to_json({"f": lambda: 1})
