"""JSONPath parsing, selection and ResultPath-style placement."""

from __future__ import annotations

from typing import Any

import pytest

from statemachine.json_types import JSON
from statemachine.paths import PathNotFound, PathSyntaxError, parse_path, parse_reference_path, set_path

DOC: JSON = {"a": {"b": [10, 20, {"c": "deep"}]}, "odd key": 1, "items": [{"x": 1}, {"x": 2}, {"x": 3}]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$", DOC),
        ("$.a.b[0]", 10),
        ("$.a.b[-1].c", "deep"),
        ("$['odd key']", 1),
        ('$["a"]["b"][1]', 20),
        ("$.items[*].x", [1, 2, 3]),
        ("$.items[1:].x", [2, 3]),
        ("$..c", ["deep"]),
        ("$.items[?(@.x > 1)].x", [2, 3]),
    ],
    ids=[
        "root",
        "member-index",
        "negative-index",
        "quoted",
        "double-quoted",
        "wildcard",
        "slice",
        "recursive",
        "filter",
    ],
)
def test_find_selects_values(text: str, expected: Any) -> None:
    assert parse_path(text).find(DOC) == expected


@pytest.mark.parametrize(
    "text",
    ["$.missing", "$.a.b[7]", "$.a.b.c", "$['odd key'].x"],
    ids=["member", "index", "member-of-list", "member-of-number"],
)
def test_find_raises_when_nothing_is_selected(text: str) -> None:
    with pytest.raises(PathNotFound):
        parse_path(text).find(DOC)


@pytest.mark.parametrize(
    ("text", "root", "variable", "steps"),
    [
        ("$$.Execution.Id", "context", None, ("Execution", "Id")),
        ("$counter", "variable", "counter", ()),
        ("$order.lines[0]", "variable", "order", ("lines", 0)),
        ("$.x", "input", None, ("x",)),
    ],
    ids=["context", "variable", "variable-field", "input"],
)
def test_roots(text: str, root: str, variable: str | None, steps: tuple[Any, ...]) -> None:
    path = parse_path(text)
    assert (path.root, path.variable, path.steps) == (root, variable, steps)


@pytest.mark.parametrize(
    "text", ["a.b", "", "$.a[?(@.b ==", "$[[["], ids=["no-dollar", "empty", "open-filter", "brackets"]
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(PathSyntaxError):
        parse_path(text)


@pytest.mark.parametrize(
    "text", ["$.a[*]", "$..a", "$.a[?(@.x)]", "$.a[1:2]"], ids=["wildcard", "recursive", "filter", "slice"]
)
def test_reference_paths_reject_indefinite_paths(text: str) -> None:
    with pytest.raises(PathSyntaxError):
        parse_reference_path(text)


def test_single_quoted_names_keep_backslashes_except_before_quote() -> None:
    assert parse_path('$[\'Test\\""Name"\']').steps == ('Test\\""Name"',)
    assert parse_path("$['it\\'s']").steps == ("it's",)


def test_canonical_form_matches_aws_messages() -> None:
    assert parse_path("$.a.b[0]").canonical() == "$['a']['b'][0]"


@pytest.mark.parametrize(
    ("document", "text", "expected"),
    [
        ({"a": 1}, "$", {"x": 1}),
        ({"a": 1}, "$.r", {"a": 1, "r": {"x": 1}}),
        ({"a": 1}, "$.r.s.t", {"a": 1, "r": {"s": {"t": {"x": 1}}}}),
        ({"a": {"keep": True}}, "$.a.new", {"a": {"keep": True, "new": {"x": 1}}}),
        ({"a": [0, 1]}, "$.a[1]", {"a": [0, {"x": 1}]}),
    ],
    ids=["root", "new-member", "nested-creation", "merge-into-object", "list-element"],
)
def test_set_path_places_value(document: Any, text: str, expected: Any) -> None:
    assert set_path(document, parse_reference_path(text), {"x": 1}) == expected


def test_set_path_copies_instead_of_mutating() -> None:
    document: dict[str, JSON] = {"a": {"b": 1}, "other": {"untouched": True}}
    result: Any = set_path(document, parse_reference_path("$.a.c"), 2)
    assert document == {"a": {"b": 1}, "other": {"untouched": True}}
    assert result["other"] is document["other"]


@pytest.mark.parametrize(
    ("document", "text"),
    [("text", "$.a"), ({"a": 5}, "$.a.b"), ({"a": []}, "$.a[3]")],
    ids=["string-input", "through-number", "index-out-of-range"],
)
def test_set_path_fails_where_it_cannot_place(document: Any, text: str) -> None:
    with pytest.raises(PathNotFound):
        set_path(document, parse_reference_path(text), 1)
