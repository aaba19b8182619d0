"""The comparison rules of the corpus README, one row per rule."""

from __future__ import annotations

from typing import Any

import pytest

from shell.conformance.compare import Matcher, compare_history, normalize_history

PLAIN = Matcher(placeholders={})


@pytest.mark.parametrize(
    ("expected", "actual", "same"),
    [
        ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, True),
        ([1, 2], [2, 1], False),
        (1, 1.0, True),
        (True, 1, False),
        (0, False, False),
        (None, None, True),
        ("x", None, False),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ({"a": 1, "b": 2}, {"a": 1}, False),
        ("arn:<partition>:states:<region>:1:x", "arn:aws:states:us-east-1:1:x", True),
        ("arn:<partition>:states:<region>:1:x", "arn:aws:states:us-east-1:2:x", False),
        ("date", "2024-01-01T00:00:00Z", True),
        ("snf_role_arn", "arn:aws:iam::1:role/r", True),
        ('{"a": 1, "b": "c"}', '{"b":"c","a":1}', True),
        ('{"a": 1}', '{"a":2}', False),
        (
            '{"errorMessage": "boom", "errorType": "Exception", "requestId": "<uuid:1>", "stackTrace": []}',
            '{"errorType": "Exception", "errorMessage": "boom", "requestId": "abc", "stackTrace": []}',
            True,
        ),
        (
            {"errorMessage": "boom", "errorType": "Exception", "requestId": "r", "stackTrace": []},
            {"errorMessage": "other", "errorType": "Exception", "requestId": "r", "stackTrace": []},
            False,
        ),
    ],
    ids=[
        "key-order-ignored",
        "list-order-matters",
        "int-equals-float",
        "bool-is-not-int",
        "zero-is-not-false",
        "null",
        "string-vs-null",
        "unexpected-key",
        "missing-key",
        "angle-tokens-are-wildcards",
        "text-around-tokens-still-compared",
        "literal-placeholder",
        "role-arn-placeholder",
        "json-text-compares-decoded",
        "json-text-different",
        "lambda-error-ignores-request-id-and-trace",
        "lambda-error-message-compared",
    ],
)
def test_compare_rules(expected: Any, actual: Any, same: bool) -> None:
    assert (PLAIN.compare("output", "/expected/output", expected, actual) == []) is same


def test_placeholder_tokens_listed_for_a_pointer_are_wildcards() -> None:
    matcher = Matcher(placeholders={"/expected/output/id": ("generated-uuid",)})
    assert matcher.compare("output", "/expected/output", {"id": "x-generated-uuid"}, {"id": "x-1234"}) == []
    assert (
        matcher.compare("output", "/expected/output", {"other": "x-generated-uuid"}, {"other": "x-1"}) != []
    )


def test_transformer_replacement_matches_any_value() -> None:
    matcher = Matcher(placeholders={}, replacements=frozenset({"RandomNumberGenerated"}))
    assert matcher.compare("output", "/expected/output", {"n": "RandomNumberGenerated"}, {"n": 17}) == []


def test_regex_transformers_apply_to_actual_strings() -> None:
    matcher = Matcher(placeholders={}, regex_transformers=(("fn1", "lambda_function_name"),))
    assert matcher.compare("output", "/expected/output", "no_such_lambda_function_name", "no_such_fn1") == []


def test_decoded_one_level_accepted_only_when_allowed() -> None:
    loose = Matcher(placeholders={}, accept_decoded_strings=True)
    assert loose.compare("output", "/expected/output", {"a": [1]}, '{"a": [1]}') == []
    assert PLAIN.compare("output", "/expected/output", {"a": [1]}, '{"a": [1]}') != []


def test_difference_names_the_location() -> None:
    (diff,) = PLAIN.compare("output", "/expected/output", {"a": {"b/c": 1}}, {"a": {"b/c": 2}})
    assert (diff.field, diff.location, diff.expected, diff.actual) == ("output", "/a/b~1c", 1, 2)
    assert "output/a/b~1c differs" in diff.describe()


def test_history_regions_compare_as_multisets() -> None:
    expected = [
        "ExecutionStarted",
        "MapStateStarted",
        "A",
        "B",
        "A",
        "MapStateSucceeded",
        "ExecutionSucceeded",
    ]
    actual = ["ExecutionStarted", "MapStateStarted", "A", "A", "B", "MapStateSucceeded", "ExecutionSucceeded"]
    assert compare_history(expected, actual, prefix_only=False) == []


def test_history_order_outside_regions_matters() -> None:
    (diff,) = compare_history(
        ["ExecutionStarted", "A", "B"], ["ExecutionStarted", "B", "A"], prefix_only=False
    )
    assert diff.field == "history" and diff.location == "/1"


def test_history_prefix_for_unfinished_executions() -> None:
    assert compare_history(["ExecutionStarted"], ["ExecutionStarted", "X"], prefix_only=True) == []


def test_unclosed_region_extends_to_the_end() -> None:
    assert normalize_history(["P", "ParallelStateStarted", "b", "a"]) == [
        "P",
        "ParallelStateStarted",
        "a",
        "b",
    ]


def test_sorted_parallel_history_compares_types_after_the_start() -> None:
    expected = ["ExecutionStarted", "ParallelStateStarted", "B", "A", "ParallelStateExited"]
    actual = [
        "ExecutionStarted",
        "ParallelStateStarted",
        "A",
        "B",
        "A",
        "ParallelStateSucceeded",
        "ParallelStateExited",
    ]
    assert compare_history(expected, actual, prefix_only=False, parallel_sorted=True) == []
    (diff,) = compare_history(expected, actual[:-1], prefix_only=False, parallel_sorted=True)
    assert diff.expected == ["A", "B", "ParallelStateExited"]
