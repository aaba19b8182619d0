"""The intrinsic call parser: shapes it accepts, AST it builds, and errors naming the position."""

from __future__ import annotations

import random

import pytest

from statemachine.intrinsics.evaluate import (
    IntrinsicCall,
    IntrinsicSyntaxError,
    Literal,
    PathArgument,
    StringLiteral,
    is_intrinsic,
    parse_intrinsic,
    path_arguments,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.UUID()", IntrinsicCall("States.UUID", ())),
        ("States.Array( )", IntrinsicCall("States.Array", ())),
        (
            "States.Format('Hello {}', $.name)",
            IntrinsicCall("States.Format", (StringLiteral("Hello {}", "Hello {}"), PathArgument("$.name"))),
        ),
        (
            "States.Array(1, -2, 3.5, -0.25, 1e3, true, false, null)",
            IntrinsicCall(
                "States.Array",
                (
                    Literal(1),
                    Literal(-2),
                    Literal(3.5),
                    Literal(-0.25),
                    Literal(1000.0),
                    Literal(True),
                    Literal(False),
                    Literal(None),
                ),
            ),
        ),
        (
            "States.Array($, $$.Execution.Id, $var, $var.x[0], $.a['b,c'], $.l[1:2], $..x)",
            IntrinsicCall(
                "States.Array",
                (
                    PathArgument("$"),
                    PathArgument("$$.Execution.Id"),
                    PathArgument("$var"),
                    PathArgument("$var.x[0]"),
                    PathArgument("$.a['b,c']"),
                    PathArgument("$.l[1:2]"),
                    PathArgument("$..x"),
                ),
            ),
        ),
        (
            "States.Array($.items[?(@.price < 10)])",
            IntrinsicCall("States.Array", (PathArgument("$.items[?(@.price < 10)]"),)),
        ),
        (
            "States.MathAdd(States.ArrayLength($.a), -1)",
            IntrinsicCall(
                "States.MathAdd",
                (IntrinsicCall("States.ArrayLength", (PathArgument("$.a"),)), Literal(-1)),
            ),
        ),
        (
            r"States.Format('it\'s \{\} \\ {}', 'x')",
            IntrinsicCall(
                "States.Format",
                (StringLiteral("it's {} \\ {}", r"it\'s \{\} \\ {}"), StringLiteral("x", "x")),
            ),
        ),
        (
            "States.StringSplit('Hello\nWorld', '\n')",
            IntrinsicCall(
                "States.StringSplit",
                (StringLiteral("Hello\nWorld", "Hello\nWorld"), StringLiteral("\n", "\n")),
            ),
        ),
        ("  States.ArrayLength( $.a )  ", IntrinsicCall("States.ArrayLength", (PathArgument("$.a"),))),
    ],
    ids=[
        "no-args",
        "space-only",
        "string-and-path",
        "literals",
        "paths",
        "filter-path",
        "nested",
        "escapes",
        "newline",
        "spaces",
    ],
)
def test_parse_builds_the_call_tree(text: str, expected: IntrinsicCall) -> None:
    assert parse_intrinsic(text) == expected


def test_parse_is_cached_by_text() -> None:
    assert parse_intrinsic("States.Array($.x)") is parse_intrinsic("States.Array($.x)")


@pytest.mark.parametrize(
    ("text", "problem", "position"),
    [
        # AWS rejects \" in an intrinsic string (ESCAPE_SEQUENCES_ILLEGAL_INTRINSIC_FUNCTION_2)
        (r"""States.Format('He said, \"Hello, {}!\"', 'Test')""", "invalid escape sequence", 24),
        ("States.Nope(1)", "unknown intrinsic function 'States.Nope'", 0),
        ("States.Format('x'", "missing ')' to close States.Format", 17),
        ("States.Format('x',)", "missing argument", 18),
        ("States.Format('x) ", "unterminated string literal", 14),
        ("States.Array(1 2)", "expected ',' or ')'", 15),
        ("States.Array(1) x", "unexpected text after the closing parenthesis", 16),
        ("States.Array(foo)", "unexpected character 'f'", 13),
        ("States.Array", "expected '(' after States.Array", 12),
        ("$.x", "expected an intrinsic function name", 0),
        ("States.Array($.a['b)", "unterminated quote in a path", 13),
        ("States.Array(" * 11 + ")" * 11, "more than 10 nested intrinsic functions", 130),
    ],
    ids=[
        "escaped-double-quote",
        "unknown-function",
        "unclosed-call",
        "trailing-comma",
        "unterminated-string",
        "missing-comma",
        "trailing-text",
        "bare-word",
        "no-parenthesis",
        "not-a-call",
        "unterminated-path-quote",
        "too-deep",
    ],
)
def test_parse_rejects_malformed_calls(text: str, problem: str, position: int) -> None:
    with pytest.raises(IntrinsicSyntaxError) as caught:
        parse_intrinsic(text)
    assert problem in caught.value.problem
    assert caught.value.position == position
    assert f"at position {position}" in str(caught.value)


def test_ten_nested_calls_are_allowed() -> None:
    call = parse_intrinsic("States.Array(" * 10 + ")" * 10)
    depth = 0
    node: object = call
    while isinstance(node, IntrinsicCall):
        depth += 1
        node = node.args[0] if node.args else None
    assert depth == 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('{}', $.a)", True),
        ("  States.UUID()  ", True),
        ("States.Array", False),
        ("$.States.Array()", False),
        ("States.Format('x') tail", False),
        ("Statesx.Array()", False),
    ],
)
def test_is_intrinsic_checks_the_shape(text: str, expected: bool) -> None:
    assert is_intrinsic(text) is expected


def test_mutated_calls_parse_or_raise_a_syntax_error() -> None:
    seeds = [
        r"States.Format('it\'s {} \{x\}', $.a[0], $$.Execution.Id)",
        "States.ArrayGetItem(States.StringSplit($var.x, ','), States.MathAdd(-1, 2.5e1))",
        "States.Array(true, false, null, $['a b'], $.l[?(@.n > 1)])",
    ]
    alphabet = "States.()',\\{}$[]@?-0123456789e truefalsnul\n"
    rng = random.Random(7)
    outcomes = {"parsed": 0, "rejected": 0}
    for _ in range(3000):
        text = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(text))
            match rng.randrange(3):
                case 0:
                    del text[position]
                case 1:
                    text.insert(position, rng.choice(alphabet))
                case _:
                    text[position] = rng.choice(alphabet)
        mutated = "".join(text)
        try:
            parse_intrinsic(mutated)
            outcomes["parsed"] += 1
        except IntrinsicSyntaxError as err:
            assert 0 <= err.position <= len(mutated)
            outcomes["rejected"] += 1
    assert outcomes["parsed"] > 100 and outcomes["rejected"] > 100, outcomes


def test_path_arguments_lists_every_path_in_the_tree() -> None:
    call = parse_intrinsic("States.Format('{} {}', $.a, States.ArrayGetItem($$.Map.Item.Value, $var.i))")
    assert list(path_arguments(call)) == ["$.a", "$$.Map.Item.Value", "$var.i"]
    assert list(path_arguments(parse_intrinsic("States.UUID()"))) == []
