"""Event patterns, table-tested on the examples of EventBridge's documentation (content filtering,
null values and empty strings, arrays, $or) plus the edge cases a hostile pattern would try."""

from __future__ import annotations

from typing import Any

import pytest

from workers.events.patterns import InvalidEventPatternException, compile_pattern

# The documentation's running example event (EC2 instance state-change notification).
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.123",
        "FileName": "image.PNG",
        "eventVersion": "",
        "responseElements": None,
        "location": "us-east-1",
    },
}

CASES: list[tuple[str, dict[str, Any], bool]] = [
    # exact values, and the conjunction of fields / disjunction of listed values
    ("exact source", {"source": ["aws.ec2"]}, True),
    ("exact miss", {"source": ["aws.s3"]}, False),
    ("one of many", {"source": ["aws.s3", "aws.ec2"]}, True),
    ("and of fields", {"source": ["aws.ec2"], "detail": {"state": ["terminated"]}}, True),
    ("and fails on one", {"source": ["aws.ec2"], "detail": {"state": ["running"]}}, False),
    ("case sensitive", {"source": ["AWS.EC2"]}, False),
    ("number exact", {"detail": {"c-count": [5]}}, True),
    ("number numerically", {"detail": {"c-count": [5.0]}}, True),
    ("number is not string", {"detail": {"c-count": ["5"]}}, False),
    ("missing field", {"detail": {"nope": ["x"]}}, False),
    # arrays in the event match when any element does
    (
        "array element",
        {"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]},
        True,
    ),
    # prefix / suffix, and their equals-ignore-case forms
    ("prefix", {"time": [{"prefix": "2017-12-22"}]}, True),
    ("prefix miss", {"time": [{"prefix": "2017-10-02"}]}, False),
    ("prefix ignore case", {"detail-type": [{"prefix": {"equals-ignore-case": "ec2 INSTANCE"}}]}, True),
    ("suffix", {"detail": {"FileName": [{"suffix": ".PNG"}]}}, True),
    ("suffix is case sensitive", {"detail": {"FileName": [{"suffix": ".png"}]}}, False),
    ("suffix ignore case", {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}, True),
    (
        "equals-ignore-case",
        {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
        True,
    ),
    # anything-but
    ("anything-but string", {"detail": {"state": [{"anything-but": "initializing"}]}}, True),
    ("anything-but excludes", {"detail": {"state": [{"anything-but": "terminated"}]}}, False),
    ("anything-but list", {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, True),
    (
        "anything-but list excludes",
        {"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}},
        False,
    ),
    ("anything-but number", {"detail": {"x-limit": [{"anything-but": 123}]}}, True),
    ("anything-but numbers", {"detail": {"x-limit": [{"anything-but": [100, 301.8]}]}}, False),
    ("anything-but prefix", {"region": [{"anything-but": {"prefix": "us-"}}]}, False),
    ("anything-but prefix other", {"region": [{"anything-but": {"prefix": "eu-"}}]}, True),
    ("anything-but suffix", {"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}}, True),
    (
        "anything-but ignore case",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": "TERMINATED"}}]}},
        False,
    ),
    (
        "anything-but ignore case list",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "Running"]}}]}},
        True,
    ),
    ("anything-but wildcard", {"detail": {"FileName": [{"anything-but": {"wildcard": "*.PNG"}}]}}, False),
    ("anything-but needs the field", {"detail": {"absent": [{"anything-but": "x"}]}}, False),
    # numeric ranges
    ("numeric range", {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, True),
    ("numeric below", {"detail": {"d-count": [{"numeric": ["<", 10]}]}}, True),
    ("numeric equal", {"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}, True),
    ("numeric outside", {"detail": {"c-count": [{"numeric": [">", 5]}]}}, False),
    ("numeric on a string", {"detail": {"state": [{"numeric": [">", 0]}]}}, False),
    # cidr
    ("cidr", {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, True),
    ("cidr outside", {"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}, False),
    # exists
    ("exists true", {"detail": {"state": [{"exists": True}]}}, True),
    ("exists false on present", {"detail": {"state": [{"exists": False}]}}, False),
    ("exists false on absent", {"detail": {"c-count-missing": [{"exists": False}]}}, True),
    ("exists only on leaves", {"detail": [{"exists": True}]}, False),
    ("exists false under a missing parent", {"missing": {"x": [{"exists": False}]}}, True),
    ("exists true on null", {"detail": {"responseElements": [{"exists": True}]}}, True),
    # null and empty string are distinct
    ("empty string", {"detail": {"eventVersion": [""]}}, True),
    ("null", {"detail": {"responseElements": [None]}}, True),
    ("empty string is not null", {"detail": {"responseElements": [""]}}, False),
    ("null is not empty string", {"detail": {"eventVersion": [None]}}, False),
    # wildcard
    ("wildcard", {"detail": {"instance-id": [{"wildcard": "i-*def0"}]}}, True),
    ("wildcard whole value", {"detail": {"instance-id": [{"wildcard": "i-1234*"}]}}, True),
    ("wildcard miss", {"detail": {"instance-id": [{"wildcard": "*abc"}]}}, False),
    # $or, with mixed matchers, nested
    (
        "$or second branch",
        {"$or": [{"detail": {"c-count": [{"numeric": [">", 10]}]}}, {"detail": {"d-count": [3]}}]},
        True,
    ),
    (
        "$or none",
        {"$or": [{"detail": {"c-count": [0]}}, {"detail": {"d-count": [0]}}]},
        False,
    ),
    (
        "$or nested with sibling",
        {
            "source": ["aws.ec2"],
            "detail": {"$or": [{"state": ["stopped"]}, {"location": [{"prefix": "us-"}]}]},
        },
        True,
    ),
]


@pytest.mark.parametrize(("name", "pattern", "expected"), CASES, ids=[c[0] for c in CASES])
def test_documented_patterns(name: str, pattern: dict[str, Any], expected: bool) -> None:
    assert compile_pattern(pattern).matches(EC2_EVENT) is expected, name


def test_text_patterns_compile_like_objects() -> None:
    assert compile_pattern('{"source": ["aws.ec2"]}').matches(EC2_EVENT)


def test_arrays_of_objects_match_element_by_element() -> None:
    event = {"items": [{"kind": "a", "size": 1}, {"kind": "b", "size": 9}]}
    assert compile_pattern({"items": {"kind": ["b"], "size": [9]}}).matches(event)
    # Fields from two different elements do not combine.
    assert not compile_pattern({"items": {"kind": ["a"], "size": [9]}}).matches(event)


def test_anything_but_over_an_event_array_needs_one_other_element() -> None:
    pattern = compile_pattern({"tags": [{"anything-but": "red"}]})
    assert pattern.matches({"tags": ["red", "blue"]})
    assert not pattern.matches({"tags": ["red"]})


def test_booleans_are_not_numbers() -> None:
    assert not compile_pattern({"flag": [1]}).matches({"flag": True})
    assert compile_pattern({"flag": [True]}).matches({"flag": True})
    assert not compile_pattern({"n": [{"numeric": [">", 0]}]}).matches({"n": True})


def test_wildcard_escapes_a_literal_star() -> None:
    pattern = compile_pattern({"name": [{"wildcard": "a\\*b*"}]})
    assert pattern.matches({"name": "a*bcd"})
    assert not pattern.matches({"name": "axbcd"})


def test_deeply_nested_event_arrays_do_not_recurse() -> None:
    nested: Any = "x"
    for _ in range(50_000):
        nested = [nested]
    assert compile_pattern({"v": ["x"]}).matches({"v": nested})


def test_a_non_object_event_never_matches() -> None:
    assert not compile_pattern({"a": ["b"]}).matches(["a"])  # type: ignore[arg-type]


INVALID: list[tuple[Any, str]] = [
    ("not json", "not valid JSON"),
    ("[]", "must be a JSON object"),
    ({}, "empty object at the top level"),
    ({"detail": {}}, "empty object at detail"),
    ({"source": "aws.ec2"}, "source must be an object or an array"),
    ({"source": []}, "source is an empty array"),
    ({"source": [["a"]]}, "source[0]: match values cannot be nested arrays"),
    ({"a": [{"prefix": "x", "suffix": "y"}]}, "exactly one key"),
    ({"a": [{"contains": "x"}]}, "unrecognized match type 'contains'"),
    ({"a": [{"prefix": 5}]}, "a[0].prefix must be a string"),
    ({"a": [{"prefix": {"other": "x"}}]}, "only equals-ignore-case"),
    ({"a": [{"exists": "yes"}]}, "a[0].exists must be true or false"),
    ({"a": [{"numeric": [">", "5"]}]}, "must be a number"),
    ({"a": [{"numeric": ["~", 5]}]}, "unknown operator"),
    ({"a": [{"numeric": ["<", 5, ">", 0]}]}, "lower bound"),
    ({"a": [{"numeric": [">", 5, "<", 1]}]}, "must be below the upper bound"),
    ({"a": [{"numeric": [">"]}]}, "must be [operator, number]"),
    ({"a": [{"cidr": "10.0.0.300/8"}]}, "not an IP address"),
    ({"a": [{"anything-but": ["x", 1]}]}, "only strings or only numbers"),
    ({"a": [{"anything-but": []}]}, "empty array"),
    ({"a": [{"anything-but": {"prefix": ""}}]}, "must not be empty"),
    ({"a": [{"anything-but": {"numeric": [">", 1]}}]}, "unsupported anything-but form"),
    ({"a": [{"wildcard": "a**b"}]}, "consecutive wildcard"),
    ({"a": [{"wildcard": "a\\b"}]}, "may only escape"),
    ({"$or": [{"a": ["b"]}]}, "at least two objects"),
    ({"$or": [{"a": ["b"]}, "c"]}, "$or[1] must be an object"),
    ('{"a": ' * 2000 + "1" + "}" * 2000, "nested"),
]


@pytest.mark.parametrize(("pattern", "message"), INVALID, ids=[m for _, m in INVALID])
def test_invalid_patterns_name_the_problem(pattern: Any, message: str) -> None:
    with pytest.raises(InvalidEventPatternException) as raised:
        compile_pattern(pattern)
    assert message in str(raised.value)
    assert str(raised.value).startswith("Event pattern is not valid. Reason: ")


def test_wildcards_match_as_globs() -> None:
    cases = [
        ("*", "", True),
        ("a*", "a", True),
        ("*a*b*", "xaybz", True),
        ("*a*b*", "xbya", False),
        ("a*a", "a", False),
        ("a*a", "aa", True),
        ("ab*ba", "aba", False),
        ("*.png", "x.png", True),
        ("lib/*/x", "lib/a/b/x", True),
    ]
    for wildcard, value, expected in cases:
        assert compile_pattern({"v": [{"wildcard": wildcard}]}).matches({"v": value}) is expected, wildcard


def test_a_hostile_wildcard_is_linear() -> None:
    pattern = compile_pattern({"v": [{"wildcard": "*a" * 40 + "*x*b"}]})
    assert not pattern.matches({"v": "a" * 200_000 + "b"})
    assert pattern.matches({"v": "a" * 200_000 + "xb"})
