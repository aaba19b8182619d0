"""Evaluation of the 18 intrinsic functions, against what AWS returned in the conformance corpus.

Rows marked ``aws`` come from cases under ../shared/conformance/cases (intrinsic_functions.*,
assign.*, scenarios.*), with the path arguments inlined as data.
"""

from __future__ import annotations

import itertools

import pytest

from statemachine.errors import StatesError
from statemachine.intrinsics.evaluate import IntrinsicEffects, evaluate_intrinsic, parse_intrinsic
from statemachine.json_types import JSON

EFFECTS = IntrinsicEffects(uuid4=lambda: "5f1b4c2e-0000-4000-8000-000000000000", random=lambda: 0.5)


def run(text: str, data: JSON = None, effects: IntrinsicEffects = EFFECTS) -> JSON:
    """Evaluate with ``$.fst``/``$.snd``/``$.trd`` (and ``$``) resolved from ``data``."""

    def resolve(path: str) -> JSON:
        if path == "$":
            return data
        assert path.startswith("$.") and isinstance(data, dict), path
        value: JSON = data
        for key in path[2:].split("."):
            assert isinstance(value, dict)
            value = value[key]
        return value

    return evaluate_intrinsic(parse_intrinsic(text), resolve, effects)


def two(fst: JSON, snd: JSON) -> dict[str, JSON]:
    return {"fst": fst, "snd": snd}


AWS_CASES: list[tuple[str, JSON, JSON]] = [
    # States.Array
    ("States.Array()", None, []),
    ("States.Array($.fst, $.snd)", two("", ""), ["", ""]),
    ("States.Array($.fst, $.snd)", two(None, None), [None, None]),
    ("States.Array($.fst, $.snd)", two({"Arg1": 1, "Arg2": []}, 1), [{"Arg1": 1, "Arg2": []}, 1]),
    ("States.Array('a', 'b', 'c')", None, ["a", "b", "c"]),
    # States.ArrayContains
    ("States.ArrayContains($.fst, $.snd)", two([], None), False),
    ("States.ArrayContains($.fst, $.snd)", two([], []), False),
    ("States.ArrayContains($.fst, $.snd)", two([[1, 2, 3], 2], None), False),
    ("States.ArrayContains($.fst, $.snd)", two([[1, 2, 3], 2], [1, 2, 3]), True),
    ("States.ArrayContains($.fst, $.snd)", two([True, False], True), True),
    ("States.ArrayContains($.fst, $.snd)", two([True, False], False), True),
    ("States.ArrayContains($.fst, 5)", two([1, 2, 3, 4, 5, 6], None), True),
    # States.ArrayGetItem / ArrayLength
    ("States.ArrayGetItem($.fst, $.snd)", two([1, 2, 3, 4, 5, 6, 7, 8, 9], 5), 6),
    ("States.ArrayLength($)", [1, 2, 3, 4, 5, 6, 7, 8, 9], 9),
    ("States.ArrayLength($)", [None, None, True, 1, 1.1, "x", [], [None], {"a": 1}], 9),
    # States.ArrayPartition
    ("States.ArrayPartition($.fst, $.snd)", two([], 1), []),
    ("States.ArrayPartition($.fst, $.snd)", two([], 5), []),
    ("States.ArrayPartition($.fst, $.snd)", two([0], 1), [[0]]),
    ("States.ArrayPartition($.fst, $.snd)", two([0], 5), [[0]]),
    ("States.ArrayPartition($.fst, $.snd)", two([0, 1], 1), [[0], [1]]),
    ("States.ArrayPartition($.fst, $.snd)", two([0, 1, 2], 2), [[0, 1], [2]]),
    ("States.ArrayPartition($.fst, $.snd)", two([0, 1, 2, 3], 3), [[0, 1, 2], [3]]),
    ("States.ArrayPartition($.fst, $.snd)", two([0, 1, 2, 3], 4), [[0, 1, 2, 3]]),
    ("States.ArrayPartition($.fst, $.snd)", two([0, 1, 2, 3], 5), [[0, 1, 2, 3]]),
    # States.ArrayRange
    ("States.ArrayRange(0, 9, 3)", None, [0, 3, 6, 9]),
    ("States.ArrayRange(1, 9, 9)", None, [1]),
    ("States.ArrayRange(1, 9, 2)", None, [1, 3, 5, 7, 9]),
    ("States.ArrayRange(0, 3, 1)", None, [0, 1, 2, 3]),
    ("States.ArrayRange(1, 10, 2)", None, [1, 3, 5, 7, 9]),
    # States.ArrayUnique
    ("States.ArrayUnique($)", [1, 2, 2, 3, 3, 4], [1, 2, 3, 4]),
    # Base64
    ("States.Base64Encode($)", "Data to encode", "RGF0YSB0byBlbmNvZGU="),
    ("States.Base64Encode($)", "Hello World", "SGVsbG8gV29ybGQ="),
    ("States.Base64Decode($)", "SGVsbG8gV29ybGQ=", "Hello World"),
    # States.Hash
    ("States.Hash($.fst, $.snd)", two("input data", "MD5"), "812f45842bc6d66ee14572ce20db8e86"),
    ("States.Hash($.fst, $.snd)", two("input data", "SHA-1"), "aaff4a450a104cd177d28d18d74485e8cae074b7"),
    (
        "States.Hash($.fst, $.snd)",
        two("input data", "SHA-256"),
        "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
    ),
    (
        "States.Hash($.fst, $.snd)",
        two("input data", "SHA-384"),
        "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
    ),
    (
        "States.Hash($.fst, $.snd)",
        two("input data", "SHA-512"),
        "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce"
        "2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
    ),
    (
        "States.Hash($, 'SHA-256')",
        "Hash this string",
        "1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e",
    ),
    # JSON
    (
        "States.JsonMerge($.fst, $.snd, false)",
        two({"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}, {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4}),
        {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4},
    ),
    ("States.JsonToString($)", 0, "0"),
    ("States.JsonToString($)", 1.1, "1.1"),
    ("States.JsonToString($)", [1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'),
    ("States.JsonToString($)", {"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),
    ("States.StringToJson($)", "", None),
    ("States.StringToJson($)", " ", None),
    ("States.StringToJson($)", "null", None),
    ("States.StringToJson($)", "-0", 0),
    ("States.StringToJson($)", "true", True),
    ("States.StringToJson($)", '[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
    ("States.StringToJson($)", '{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
    # States.MathAdd rounds each operand half up (Java Math.round)
    ("States.MathAdd($.fst, $.snd)", two(-9, 3), -6),
    ("States.MathAdd($.fst, $.snd)", two(-1.5, 0), -1),
    ("States.MathAdd($.fst, $.snd)", two(0.5, 0), 1),
    ("States.MathAdd($.fst, $.snd)", two(1.5, 0), 2),
    ("States.MathAdd($.fst, $.snd)", two(3.5, 0), 4),
    ("States.MathAdd($.fst, $.snd)", two(-0.5, 0.5), 1),
    ("States.MathAdd($.fst, $.snd)", two(-0.5, 0), 0),
    ("States.MathAdd($.fst, $.snd)", two(1.5, 1.51), 4),
    ("States.MathAdd($.fst, $.snd)", two(-3.5, 0), -3),
    ("States.MathAdd($.fst, $.snd)", two(-1.49, -1.5), -2),
    ("States.MathAdd($.fst, $.snd)", two(-1.5, -1.51), -3),
    ("States.MathAdd($.fst, $.snd)", two(1.49, 0), 1),
    ("States.MathAdd($.fst, $.snd)", two(1.49, -1.49), 0),
    ("States.MathAdd($.fst, $.snd)", two(1.51, 0), 2),
    ("States.MathAdd($.fst, $.snd)", two(-1.49, 0), -1),
    ("States.MathAdd(States.MathAdd(States.MathAdd(44, 9), 6), 4.3)", None, 63),
    # States.StringSplit drops empty tokens and splits on each delimiter character
    ("States.StringSplit($.fst, $.snd)", two(",,,,", ","), []),
    (
        "States.StringSplit($.fst, $.snd)",
        two("This.is+a,test=string", ".+,="),
        ["This", "is", "a", "test", "string"],
    ),
    (
        "States.StringSplit($.fst, $.snd)",
        two("split on T and \nnew line", "T\n"),
        ["split on ", " and ", "new line"],
    ),
    (
        "States.StringSplit($, ',')",
        "Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n",
        [
            "Value1",
            "Value2",
            "Value3\nValue4",
            "Value5",
            "Value6\n",
            "\ntrue",
            "1",
            "'HelloWorld'\nNull",
            "None",
            "\n   \n",
        ],
    ),
    ("States.StringSplit('Hello\nWorld', '\n')", None, ["Hello", "World"]),
    ("States.StringSplit($, ',')", "a,b,c,d,e", ["a", "b", "c", "d", "e"]),
    # Nested calls
    ("States.ArrayGetItem(States.StringSplit($, '-'), 0)", "machine-name-x", "machine"),
    (
        "States.ArrayGetItem(States.StringSplit($, '-'),"
        " States.MathAdd(States.ArrayLength(States.StringSplit($, '-')), -1))",
        "machine-name-x",
        "x",
    ),
    # States.Format prints values as Java's toString does
    ("States.Format('Formatting argument {}.', $)", "", "Formatting argument ."),
    ("States.Format('Formatting argument {}.', $)", " ", "Formatting argument  ."),
    ("States.Format('Formatting argument {}.', $)", 1, "Formatting argument 1."),
    (
        "States.Format('Formatting argument {}.', $)",
        '{"Arg1": 1, "Arg2": []}',
        'Formatting argument {"Arg1": 1, "Arg2": []}.',
    ),
    ("States.Format('fst={} and snd={}.', $.fst, $.snd)", two(None, None), "fst=null and snd=null."),
    ("States.Format('fst={} and snd={}.', $.fst, $.snd)", two(1.1, 1.1), "fst=1.1 and snd=1.1."),
    (
        "States.Format('fst={} and snd={}.', $.fst, $.snd)",
        two({"Arg1": 1, "Arg2": []}, {"Arg1": 1, "Arg2": []}),
        "fst={Arg1=1, Arg2=[]} and snd={Arg1=1, Arg2=[]}.",
    ),
    ("States.Format('Format:{}', 101)", None, "Format:101"),
    ("States.Format($.fst, $.snd)", two("It's {}!", "Pikachu"), "It's Pikachu!"),
    (
        "States.Format('This is a custom error message for {}, caused by {}.', $.fst, $.snd)",
        two("error string", "cause string"),
        "This is a custom error message for error string, caused by cause string.",
    ),
]


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    AWS_CASES,
    ids=[f"{text.split('(')[0]}-{index}" for index, (text, _, _) in enumerate(AWS_CASES)],
)
def test_functions_return_what_aws_returned(text: str, data: JSON, expected: JSON) -> None:
    result = run(text, data)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [
        (r"States.Format('\{\} is literal, {} is not', 'this')", None, "{} is literal, this is not"),
        (r"States.Format('it\'s {}', 'x')", None, "it's x"),
        (r"States.Format('back\\slash {}', 1)", None, "back\\slash 1"),
        ("States.Format('{}', $)", True, "true"),
        ("States.Format('{}', $)", [1, "a", None, [2.5]], "[1, a, null, [2.5]]"),
        ("States.Format('{}', $)", 1e20, "1.0E20"),
        ("States.Format('{}', $)", 2.0, "2.0"),
        ("States.Format('{}', $)", 0.00001, "1.0E-5"),
        ("States.Format('no placeholders')", None, "no placeholders"),
        ("States.ArrayRange(10, 0, -3)", None, [10, 7, 4, 1]),
        ("States.ArrayRange(5, 1, 1)", None, []),
        ("States.ArrayRange(0, 999, 1)", None, list(range(1000))),
        (
            "States.ArrayUnique($)",
            [1, 1.0, True, "1", None, None, {"a": [1]}, {"a": [1]}],
            [1, True, "1", None, {"a": [1]}],
        ),
        ("States.ArrayContains($, 1)", [True], False),
        ("States.ArrayContains($, 1.0)", [1], True),
        ("States.JsonMerge($.fst, $.snd, false)", two({}, {"a": None}), {"a": None}),
        ("States.JsonToString($)", "x\u00e9", '"x\u00e9"'),
        ("States.JsonToString($)", None, "null"),
        (
            "States.JsonToString($)",
            {"big": 1e20, "l": [2.0, 1e-5, "\n"]},
            '{"big":1.0E20,"l":[2.0,1.0E-5,"\\n"]}',
        ),
        ("States.Base64Decode($)", "w6k=", "\u00e9"),
        ("States.Base64Encode($)", "\u00e9", "w6k="),
        ("States.StringSplit($, '')", "abc", ["abc"]),
        ("States.StringSplit($, ',')", "", []),
        ("States.MathAdd(2147483647, 0)", None, 2147483647),
        ("States.MathAdd($, 0)", 0.49999999999999994, 0),  # Java's Math.round, not floor(x + 0.5)
        ("States.MathAdd($, 0)", 2.5, 3),
        ("States.MathAdd($, 0)", -2.5, -2),
        ("States.MathAdd(-2147483648, -1)", None, -2147483649),
    ],
)
def test_function_edge_cases(text: str, data: JSON, expected: JSON) -> None:
    assert run(text, data) == expected


def test_uuid_and_unseeded_random_come_from_the_effects() -> None:
    counter = itertools.count()
    effects = IntrinsicEffects(uuid4=lambda: f"uuid-{next(counter)}", random=lambda: 0.999999)
    assert run("States.Array(States.UUID(), States.UUID())", None, effects) == ["uuid-0", "uuid-1"]
    assert run("States.MathRandom(1, 10)", None, effects) == 9
    assert run("States.MathRandom(1, 10)", None, IntrinsicEffects(EFFECTS.uuid4, lambda: 0.0)) == 1


@pytest.mark.parametrize(
    ("start", "end", "seed", "expected"),
    # Expected values computed with java.util.Random(seed).nextInt(end - start) + start.
    [(0, 999, 3, 239), (0, 10, 42, 0), (0, 100, 42, 30), (0, 1_000_000, -7, 934662), (10, 20, 42, 10)],
)
def test_seeded_math_random_matches_java_random(start: int, end: int, seed: int, expected: int) -> None:
    text = f"States.MathRandom({start}, {end}, {seed})"
    assert run(text) == expected
    assert run(text) == run(text)  # same seed, same number


def test_math_random_accepts_fractional_bounds_like_aws() -> None:
    result = run("States.MathRandom($.fst, $.snd)", two(12.5, 44.51))
    assert isinstance(result, int) and 13 <= result < 45


def test_path_arguments_go_through_resolve_and_its_errors_pass_through() -> None:
    seen: list[str] = []

    def resolve(path: str) -> JSON:
        seen.append(path)
        if path == "$.missing":
            raise StatesError("States.Runtime", "path not found")
        return 1

    call = parse_intrinsic("States.Array($$.Execution.Id, $myVar.x, $.missing)")
    with pytest.raises(StatesError) as caught:
        evaluate_intrinsic(call, resolve, EFFECTS)
    assert caught.value.name == "States.Runtime"
    assert seen == ["$$.Execution.Id", "$myVar.x", "$.missing"]


BAD_ARGUMENTS: list[tuple[str, JSON, str]] = [
    ("States.Format($)", 1, "the template must be a string, but was number"),
    ("States.Format('{} {}', 1)", None, "more placeholders than the 1 argument(s) given"),
    ("States.Format('{}', 1, 2)", None, "the template has 1 placeholder(s) but 2 argument(s) were given"),
    ("States.StringToJson($)", "{nope", "the string is not valid JSON"),
    ("States.StringToJson($)", 1, "the argument must be a string, but was number"),
    ("States.StringToJson($)", "NaN", "NaN is not a JSON value"),
    ("States.JsonToString(1, 2)", None, "expected 1 argument(s) but got 2"),
    ("States.ArrayPartition($, 0)", [1], "the chunk size must be a positive integer, but was 0"),
    ("States.ArrayPartition($, 1.5)", [1], "the chunk size must be an integer, but was 1.5"),
    ("States.ArrayPartition($, 1)", "abc", "the first argument must be an array, but was string"),
    ("States.ArrayContains($)", [1], "expected 2 argument(s) but got 1"),
    ("States.ArrayRange(0, 10, 0)", None, "the step must not be 0"),
    ("States.ArrayRange(0, 1000, 1)", None, "the range would hold 1001 items; at most 1000 are allowed"),
    ("States.ArrayRange('a', 10, 1)", None, "the start must be an integer, but was string"),
    ("States.ArrayGetItem($, 3)", [1, 2, 3], "the index 3 is out of bounds for an array of 3 item(s)"),
    ("States.ArrayGetItem($, -1)", [1, 2, 3], "the index -1 is out of bounds"),
    ("States.ArrayGetItem($, true)", [1], "the index must be an integer, but was boolean"),
    ("States.ArrayLength($)", {"a": 1}, "the argument must be an array, but was object"),
    ("States.ArrayUnique($)", None, "the argument must be an array, but was null"),
    ("States.Base64Encode($)", "x" * 10_001, "the input is 10001 characters long; the limit is 10000"),
    ("States.Base64Decode($)", "not base64!", "not valid Base64-encoded UTF-8"),
    ("States.Base64Decode($)", "/w==", "not valid Base64-encoded UTF-8"),
    ("States.Hash($, 'SHA-3')", "x", "unsupported algorithm 'SHA-3'"),
    ("States.Hash($, 'MD5')", {"a": 1}, "the argument must be a string, but was object"),
    ("States.JsonMerge($, $, true)", {"a": 1}, "only shallow merging is supported"),
    ("States.JsonMerge($, 1, false)", {"a": 1}, "the second argument must be an object, but was number"),
    ("States.JsonMerge($, $)", {"a": 1}, "expected 3 argument(s) but got 2"),
    ("States.MathRandom(5, 5)", None, "the start (5) must be less than the end (5)"),
    ("States.MathRandom(1)", None, "expected 2 to 3 argument(s) but got 1"),
    ("States.MathRandom(1, 5, 'seed')", None, "the seed must be an integer, but was string"),
    ("States.MathAdd($, 1)", "1", "the first argument must be a number, but was string"),
    ("States.MathAdd(2147483648, 1)", None, "outside the range -2147483648 to 2147483647"),
    ("States.MathAdd(1, 2, 3)", None, "expected 2 argument(s) but got 3"),
    ("States.StringSplit($, 1)", "a", "the delimiter must be a string, but was number"),
    ("States.UUID(1)", None, "expected 0 argument(s) but got 1"),
    ("States.Format()", None, "expected at least 1 argument but got 0"),
]


@pytest.mark.parametrize(("text", "data", "problem"), BAD_ARGUMENTS, ids=[row[0] for row in BAD_ARGUMENTS])
def test_bad_arguments_raise_intrinsic_failure(text: str, data: JSON, problem: str) -> None:
    with pytest.raises(StatesError) as caught:
        run(text, data)
    assert caught.value.name == "States.IntrinsicFailure"
    name = parse_intrinsic(text).name
    assert caught.value.cause is not None
    assert caught.value.cause.startswith(f"Invalid arguments in {name}: ")
    assert problem in caught.value.cause


@pytest.mark.parametrize(
    "text",
    [
        "States.Array($.fst)",
        "States.ArrayPartition($.fst, 1)",
        "States.ArrayGetItem(States.Array($.fst), 0)",
        "States.ArrayUnique($.fst)",
        "States.JsonMerge($.snd, $.snd, false)",
    ],
)
def test_results_share_nothing_with_the_resolved_arguments(text: str) -> None:
    data: dict[str, JSON] = {"fst": [{"deep": [1]}], "snd": {"deep": {"x": [1]}}}
    result = run(text, data)

    def scribble(value: JSON) -> None:
        if isinstance(value, dict):
            for item in value.values():
                scribble(item)
            value["scribbled"] = True
        elif isinstance(value, list):
            for item in value:
                scribble(item)
            value.append("scribbled")

    scribble(result)
    assert data == {"fst": [{"deep": [1]}], "snd": {"deep": {"x": [1]}}}
