"""The validator, one row per kind of diagnostic: code, location and message."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from statemachine.errors import Diagnostic
from statemachine.validation.definition import (
    invalid_definition_message,
    validate_definition,
    validate_definition_text,
)

PASS_END = {"Type": "Pass", "End": True}
SCHEMA = "SCHEMA_VALIDATION_FAILED"


def machine(states: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states, **top}


def one(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return machine({"S": state}, **top)


HTTP = "arn:aws:states:::http:invoke"


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": True, **fields}


CASES: list[tuple[str, dict[str, Any], tuple[str, str, str | None]]] = [
    ("missing-start-at", {"States": {"A": PASS_END}}, (SCHEMA, "/", "These fields are required: [StartAt]")),
    ("unknown-top-field", {**one(PASS_END), "Foo": 1}, (SCHEMA, "/", "Field 'Foo' is not supported")),
    (
        "bad-query-language",
        one(PASS_END, QueryLanguage="SQL"),
        (
            SCHEMA,
            "/QueryLanguage",
            "The value for the field 'QueryLanguage' must be one of ['JSONPath', 'JSONata']",
        ),
    ),
    (
        "top-timeout-not-positive",
        one(PASS_END, TimeoutSeconds=0),
        (SCHEMA, "/TimeoutSeconds", "The value for the field 'TimeoutSeconds' must be a positive integer"),
    ),
    ("missing-type", one({"End": True}), (SCHEMA, "/States/S", "These fields are required: [Type]")),
    (
        "unknown-type",
        one({"Type": "Sleep", "End": True}),
        (
            SCHEMA,
            "/States/S/Type",
            "The value for the field 'Type' must be one of "
            "['Choice', 'Fail', 'Map', 'Parallel', 'Pass', 'Succeed', 'Task', 'Wait']",
        ),
    ),
    (
        "field-not-for-type",
        one({**PASS_END, "Retry": []}),
        (SCHEMA, "/States/S", "Field 'Retry' is not supported"),
    ),
    (
        "jsonata-field-in-jsonpath",
        one({**PASS_END, "Output": {}}),
        (
            SCHEMA,
            "/States/S",
            "The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' "
            "QueryLanguage",
        ),
    ),
    (
        "jsonpath-field-in-jsonata",
        one({**PASS_END, "InputPath": "$"}, QueryLanguage="JSONata"),
        (
            SCHEMA,
            "/States/S",
            "The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported "
            "for the 'JSONPath' QueryLanguage",
        ),
    ),
    (
        "jsonpath-state-in-jsonata-machine",
        one({**PASS_END, "QueryLanguage": "JSONPath"}, QueryLanguage="JSONata"),
        (
            SCHEMA,
            "/States/S",
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
        ),
    ),
    (
        "neither-next-nor-end",
        one({"Type": "Pass"}),
        (SCHEMA, "/States/S", "These fields are required: [Next or End]"),
    ),
    (
        "next-and-end",
        machine({"S": {**PASS_END, "Next": "T"}, "T": PASS_END}),
        (SCHEMA, "/States/S", "Only one of the fields ['Next', 'End'] may be set"),
    ),
    (
        "end-false",
        one({"Type": "Pass", "End": False}),
        (SCHEMA, "/States/S/End", "The value for the field 'End' must be true"),
    ),
    (
        "dangling-next",
        one({"Type": "Pass", "Next": "Nowhere"}),
        ("MISSING_TRANSITION_TARGET", "/States/S/Next", "Missing 'Next' target: Nowhere"),
    ),
    (
        "unreachable",
        machine({"S": PASS_END, "Lost": PASS_END}),
        ("MISSING_TRANSITION_TARGET", "/States/Lost", 'State "Lost" is not reachable.'),
    ),
    (
        "no-terminal",
        machine({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}),
        ("MISSING_END_STATE", "", "Workflow has no terminal state"),
    ),
    (
        "start-at-unknown",
        {"StartAt": "X", "States": {"S": PASS_END}},
        ("MISSING_TRANSITION_TARGET", "/StartAt", "Missing 'StartAt' target: X"),
    ),
    (
        "bad-input-path",
        one({**PASS_END, "InputPath": "foo"}),
        (SCHEMA, "/States/S/InputPath", "The value for the field 'InputPath' must be a valid JSONPath"),
    ),
    (
        "result-path-not-reference",
        one({**PASS_END, "ResultPath": "$.a[*]"}),
        (
            SCHEMA,
            "/States/S/ResultPath",
            "The value for the field 'ResultPath' must be a valid Reference Path",
        ),
    ),
    (
        "bad-intrinsic-in-parameters",
        one({**PASS_END, "Parameters": {"deep": {"x.$": "States.Format('a"}}}),
        (
            SCHEMA,
            "/States/S/Parameters",
            "The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call",
        ),
    ),
    (
        "bad-jsonata",
        one({**PASS_END, "Output": {"v": "{% 1 + %}"}}, QueryLanguage="JSONata"),
        ("INVALID_JSONATA_EXPRESSION", "/States/S/Output/v", None),
    ),
    (
        "bad-variable-name",
        one({**PASS_END, "Assign": {"1x": 1}}),
        (SCHEMA, "/States/S/Assign/1x", "The variable name '1x' is not valid"),
    ),
    (
        "task-without-resource",
        one({"Type": "Task", "End": True}),
        (SCHEMA, "/States/S", "These fields are required: [Resource]"),
    ),
    (
        "timeout-zero",
        one(task(TimeoutSeconds=0)),
        (
            SCHEMA,
            "/States/S/TimeoutSeconds",
            "The value for the field 'TimeoutSeconds' must be between 1 and 99999999",
        ),
    ),
    (
        "timeout-not-integer",
        one(task(TimeoutSeconds="10")),
        (SCHEMA, "/States/S/TimeoutSeconds", "The value for the field 'TimeoutSeconds' must be an integer"),
    ),
    (
        "heartbeat-not-below-timeout",
        one(task(TimeoutSeconds=5, HeartbeatSeconds=5)),
        (
            SCHEMA,
            "/States/S/HeartbeatSeconds",
            "The value for the field 'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'",
        ),
    ),
    (
        "exclusive-fields",
        one(task(TimeoutSeconds=5, TimeoutSecondsPath="$.t")),
        (SCHEMA, "/States/S", "Only one of the fields ['TimeoutSeconds', 'TimeoutSecondsPath'] may be set"),
    ),
    (
        "backoff-below-one",
        one(task(Retry=[{"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5}])),
        (
            SCHEMA,
            "/States/S/Retry/0/BackoffRate",
            "The value for the field 'BackoffRate' must be at least 1.0",
        ),
    ),
    (
        "max-attempts-negative",
        one(task(Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": -1}])),
        (
            SCHEMA,
            "/States/S/Retry/0/MaxAttempts",
            "The value for the field 'MaxAttempts' must be between 0 and 99999999",
        ),
    ),
    (
        "interval-zero",
        one(task(Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 0}])),
        (
            SCHEMA,
            "/States/S/Retry/0/IntervalSeconds",
            "The value for the field 'IntervalSeconds' must be between 1 and 99999999",
        ),
    ),
    (
        "max-delay-too-big",
        one(task(Retry=[{"ErrorEquals": ["States.ALL"], "MaxDelaySeconds": 31622401}])),
        (
            SCHEMA,
            "/States/S/Retry/0/MaxDelaySeconds",
            "The value for the field 'MaxDelaySeconds' must be between 1 and 31622400",
        ),
    ),
    (
        "bad-jitter",
        one(task(Retry=[{"ErrorEquals": ["States.ALL"], "JitterStrategy": "SOME"}])),
        (
            SCHEMA,
            "/States/S/Retry/0/JitterStrategy",
            "The value for the field 'JitterStrategy' must be one of ['FULL', 'NONE']",
        ),
    ),
    (
        "states-all-not-alone",
        one(task(Retry=[{"ErrorEquals": ["States.ALL", "X"]}])),
        (SCHEMA, "/States/S/Retry/0/ErrorEquals", "States.ALL must appear alone in ErrorEquals"),
    ),
    (
        "states-all-not-last",
        one(task(Retry=[{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}])),
        (SCHEMA, "/States/S/Retry/0/ErrorEquals", "A Retry element with States.ALL must be the last one"),
    ),
    (
        "retrier-unknown-field",
        one(task(Retry=[{"ErrorEquals": ["X"], "Next": "S"}])),
        (SCHEMA, "/States/S/Retry/0", "Field 'Next' is not supported"),
    ),
    (
        "catcher-without-next",
        one(task(Catch=[{"ErrorEquals": ["States.ALL"]}])),
        (SCHEMA, "/States/S/Catch/0", "These fields are required: [Next]"),
    ),
    (
        "catcher-dangling-next",
        one(task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Gone"}])),
        ("MISSING_TRANSITION_TARGET", "/States/S/Catch/0/Next", "Missing 'Next' target: Gone"),
    ),
    (
        "empty-error-equals",
        one(task(Catch=[{"ErrorEquals": [], "Next": "S"}])),
        (
            SCHEMA,
            "/States/S/Catch/0/ErrorEquals",
            "The value for the field 'ErrorEquals' must be a non-empty array of strings",
        ),
    ),
    (
        "wait-without-duration",
        one({"Type": "Wait", "End": True}),
        (
            SCHEMA,
            "/States/S",
            "One of these fields is required: [Seconds, Timestamp, SecondsPath, TimestampPath]",
        ),
    ),
    (
        "wait-bad-timestamp",
        one({"Type": "Wait", "Timestamp": "2016-12-05T21:29:29", "End": True}),
        (SCHEMA, "/States/S/Timestamp", "String does not match RFC3339 timestamp"),
    ),
    (
        "wait-seconds-negative",
        one({"Type": "Wait", "Seconds": -1, "End": True}),
        (SCHEMA, "/States/S/Seconds", "The value for the field 'Seconds' must be between 0 and 99999999"),
    ),
    (
        "choice-without-choices",
        one({"Type": "Choice", "Default": "S"}),
        (SCHEMA, "/States/S", "These fields are required: [Choices]"),
    ),
    (
        "choice-rule-without-next",
        machine(
            {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True}], "Default": "E"},
                "E": PASS_END,
            }
        ),
        (SCHEMA, "/States/C/Choices/0", "These fields are required: [Next]"),
    ),
    (
        "choice-operand-type",
        machine(
            {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericEquals": "1", "Next": "E"}]},
                "E": PASS_END,
            }
        ),
        (
            SCHEMA,
            "/States/C/Choices/0/NumericEquals",
            "The value for the field 'NumericEquals' must be a number, not string",
        ),
    ),
    (
        "choice-two-operators",
        machine(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.a", "IsNull": True, "IsString": True, "Next": "E"}],
                },
                "E": PASS_END,
            }
        ),
        (
            SCHEMA,
            "/States/C/Choices/0",
            "A choice rule must have exactly one comparison operator or And, Or, Not",
        ),
    ),
    (
        "choice-nested-next",
        machine(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Not": {"Variable": "$.a", "IsNull": True, "Next": "E"}, "Next": "E"}],
                },
                "E": PASS_END,
            }
        ),
        (SCHEMA, "/States/C/Choices/0/Not", "Field 'Next' is not supported"),
    ),
    (
        "choice-bad-variable",
        machine(
            {
                "C": {"Type": "Choice", "Choices": [{"Variable": "a", "IsNull": True, "Next": "E"}]},
                "E": PASS_END,
            }
        ),
        (
            SCHEMA,
            "/States/C/Choices/0/Variable",
            "The value for the field 'Variable' must be a valid JSONPath",
        ),
    ),
    (
        "choice-jsonata-condition",
        machine(
            {"C": {"Type": "Choice", "Choices": [{"Condition": "{% $x = %}", "Next": "E"}]}, "E": PASS_END},
            QueryLanguage="JSONata",
        ),
        ("INVALID_JSONATA_EXPRESSION", "/States/C/Choices/0/Condition", None),
    ),
    (
        "choice-default-dangling",
        machine(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "E"}],
                    "Default": "Z",
                },
                "E": PASS_END,
            }
        ),
        ("MISSING_TRANSITION_TARGET", "/States/C/Default", "Missing 'Next' target: Z"),
    ),
    (
        "parallel-empty-branches",
        one({"Type": "Parallel", "Branches": [], "End": True}),
        (SCHEMA, "/States/S/Branches", "The value for the field 'Branches' must be a non-empty array"),
    ),
    (
        "parallel-branch-problem-located",
        one(
            {
                "Type": "Parallel",
                "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "X"}}}],
                "End": True,
            }
        ),
        ("MISSING_TRANSITION_TARGET", "/States/S/Branches/0/States/B/Next", "Missing 'Next' target: X"),
    ),
    (
        "map-without-processor",
        one({"Type": "Map", "End": True}),
        (SCHEMA, "/States/S", "These fields are required: [ItemProcessor]"),
    ),
    (
        "map-processor-query-language",
        one(
            {
                "Type": "Map",
                "ItemProcessor": {"QueryLanguage": "JSONata", "StartAt": "I", "States": {"I": PASS_END}},
                "End": True,
            }
        ),
        (SCHEMA, "/States/S/ItemProcessor", "Field 'QueryLanguage' is not supported"),
    ),
    (
        "map-bad-mode",
        one(
            {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "FAST"},
                    "StartAt": "I",
                    "States": {"I": PASS_END},
                },
                "End": True,
            }
        ),
        (
            SCHEMA,
            "/States/S/ItemProcessor/ProcessorConfig/Mode",
            "The value for the field 'Mode' must be one of ['INLINE', 'DISTRIBUTED']",
        ),
    ),
    (
        "map-tolerated-percentage",
        one(
            {
                "Type": "Map",
                "Iterator": {"StartAt": "I", "States": {"I": PASS_END}},
                "ToleratedFailurePercentage": 101,
                "End": True,
            }
        ),
        (
            SCHEMA,
            "/States/S/ToleratedFailurePercentage",
            "The value for the field 'ToleratedFailurePercentage' must be between 0 and 100",
        ),
    ),
    (
        "map-label",
        one(
            {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": PASS_END}},
                "Label": "a b",
                "End": True,
            }
        ),
        ("INVALID_LABEL_NAME", "/States/S/Label", "The value for the field 'Label' is not a valid label"),
    ),
    (
        "map-max-concurrency-negative",
        one(
            {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": PASS_END}},
                "MaxConcurrency": -1,
                "End": True,
            }
        ),
        (
            SCHEMA,
            "/States/S/MaxConcurrency",
            "The value for the field 'MaxConcurrency' must be between 0 and 99999999",
        ),
    ),
    (
        "item-reader-unknown-config",
        one(
            {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": PASS_END}},
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON", "Bogus": 1},
                },
                "End": True,
            }
        ),
        (SCHEMA, "/States/S/ItemReader/ReaderConfig", "Field 'Bogus' is not supported"),
    ),
    (
        "item-batcher-zero",
        one(
            {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": PASS_END}},
                "ItemBatcher": {"MaxItemsPerBatch": 0},
                "End": True,
            }
        ),
        (
            SCHEMA,
            "/States/S/ItemBatcher/MaxItemsPerBatch",
            "The value for the field 'MaxItemsPerBatch' must be between 1 and 99999999",
        ),
    ),
    (
        "result-writer-without-resource",
        one(
            {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                    "StartAt": "I",
                    "States": {"I": PASS_END},
                },
                "ResultWriter": {"WriterConfig": {}},
                "End": True,
            }
        ),
        (SCHEMA, "/States/S/ResultWriter", "These fields are required: [Resource]"),
    ),
    (
        "fail-error-and-error-path",
        one({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}),
        (SCHEMA, "/States/S", "Only one of the fields ['Error', 'ErrorPath'] may be set"),
    ),
    (
        "fail-bad-cause-path",
        one({"Type": "Fail", "CausePath": "cause"}),
        (
            SCHEMA,
            "/States/S/CausePath",
            "The value for the field 'CausePath' must be a valid JSONPath or a valid intrinsic function call",
        ),
    ),
    (
        "long-state-name",
        machine({"N" * 81: PASS_END}),
        (
            "INVALID_STATE_NAME",
            "/States/" + "N" * 81,
            "State name 'NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN...' exceeds 80 characters",
        ),
    ),
    (
        "duplicate-name-in-branch",
        machine(
            {
                "S": {
                    "Type": "Parallel",
                    "Branches": [{"StartAt": "S", "States": {"S": PASS_END}}],
                    "End": True,
                }
            }
        ),
        (
            "DUPLICATE_STATE_NAME",
            "/States/S/Branches/0/States/S",
            "State name 'S' is already used at /States/S",
        ),
    ),
    (
        "http-task-without-authentication",
        one(task(Resource=HTTP, Parameters={"ApiEndpoint": "https://x", "Method": "GET"})),
        (SCHEMA, "/States/S/Parameters", None),
    ),
    (
        "http-task-without-connection-arn",
        one(
            task(
                Resource=HTTP, Parameters={"ApiEndpoint": "https://x", "Method": "GET", "Authentication": {}}
            )
        ),
        (
            SCHEMA,
            "/States/S/Parameters/Authentication",
            "The field 'ConnectionArn' is required but was missing",
        ),
    ),
    (
        "http-task-without-arguments",
        one(task(Resource=HTTP), QueryLanguage="JSONata"),
        (SCHEMA, "/States/S", "These fields are required: [Arguments] for arn:aws:states:::http:invoke"),
    ),
    (
        "pointer-escaping",
        machine({"a/b~c": {"Type": "Pass", "Next": "x"}}),
        ("MISSING_TRANSITION_TARGET", "/States/a~1b~0c/Next", "Missing 'Next' target: x"),
    ),
]


@pytest.mark.parametrize(("definition", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_diagnostic(definition: dict[str, Any], expected: tuple[str, str, str | None]) -> None:
    code, location, message = expected
    found = [d for d in validate_definition(definition) if (d.code, d.location) == (code, location)]
    assert found, f"no {code} at {location!r} in {validate_definition(definition)}"
    if message is not None:
        assert [d.message for d in found] == [message]
    assert all(d.severity == "ERROR" for d in found)


WARNINGS = [
    (
        "no-dollar",
        one({**PASS_END, "Parameters": {"a": {"b": "$.x"}}}),
        ("NO_DOLLAR", "/States/S/Parameters"),
    ),
    ("no-path", one({"Type": "Fail", "Error": "$.error"}), ("NO_PATH", "/States/S/Error")),
    (
        "pass-result-is-static",
        one({**PASS_END, "Result": {"a.$": "$.x"}}),
        ("PASS_RESULT_IS_STATIC", "/States/S/Result"),
    ),
]


@pytest.mark.parametrize(("definition", "expected"), [w[1:] for w in WARNINGS], ids=[w[0] for w in WARNINGS])
def test_warning_does_not_fail_validation(definition: dict[str, Any], expected: tuple[str, str]) -> None:
    (diagnostic,) = validate_definition(definition)
    assert (diagnostic.severity, diagnostic.code, diagnostic.location) == ("WARNING", *expected)


VALID = [
    ("pass", one(PASS_END)),
    (
        "task-retry-catch",
        machine(
            {
                "T": task(
                    Retry=[{"ErrorEquals": ["States.ALL"], "BackoffRate": 1.5, "JitterStrategy": "FULL"}],
                    Catch=[{"ErrorEquals": ["States.ALL"], "Next": "F"}],
                ),
                "F": {"Type": "Fail"},
            }
        ),
    ),
    (
        "choice-loop",
        machine(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "And": [
                                {"Variable": "$.n", "NumericLessThan": 3},
                                {"Variable": "$.s", "StringMatches": "a*"},
                            ],
                            "Next": "P",
                        }
                    ],
                    "Default": "D",
                },
                "P": {"Type": "Pass", "Next": "C"},
                "D": {"Type": "Succeed"},
            }
        ),
    ),
    (
        "jsonata",
        one(
            {"Type": "Pass", "Output": "{% $states.input.a %}", "Assign": {"x": "{% 1 + 1 %}"}, "End": True},
            QueryLanguage="JSONata",
        ),
    ),
    (
        "wait-expression",
        one({"Type": "Wait", "Seconds": "{% $states.input.s %}", "End": True}, QueryLanguage="JSONata"),
    ),
    (
        "map-legacy",
        one(
            {
                "Type": "Map",
                "Iterator": {"StartAt": "I", "States": {"I": PASS_END}},
                "Parameters": {"v.$": "$$.Map.Item.Value"},
                "ItemsPath": "$.items",
                "End": True,
            }
        ),
    ),
    (
        "http-task-with-a-connection",
        one(
            task(
                Resource=HTTP,
                Parameters={"ApiEndpoint": "https://x", "Authentication": {"ConnectionArn.$": "$.c"}},
            )
        ),
    ),
    ("intrinsic-params", one({**PASS_END, "Parameters": {"s.$": "States.Format('{}', $.a)", "v.$": "$x"}})),
]


@pytest.mark.parametrize("definition", [v[1] for v in VALID], ids=[v[0] for v in VALID])
def test_valid_definitions_have_no_diagnostics(definition: dict[str, Any]) -> None:
    assert validate_definition(definition) == ()


def test_every_problem_is_reported_at_once() -> None:
    definition = machine({"A": {"Type": "Pass", "Next": "Z", "Foo": 1}, "B": {"Type": "Wait", "End": True}})
    codes = sorted(d.code for d in validate_definition(definition))
    assert codes == ["MISSING_TRANSITION_TARGET", "MISSING_TRANSITION_TARGET", SCHEMA, SCHEMA]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" ", Diagnostic("ERROR", SCHEMA, "Definition must be a valid JSON object", "")),
        ("[1]", Diagnostic("ERROR", SCHEMA, "Definition must be a valid JSON object", "")),
        (
            "not a definition",
            Diagnostic(
                "ERROR",
                "INVALID_JSON_DESCRIPTION",
                "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token "
                "'null', 'true' or 'false')\n at [Source: (String)\"not a definition\"; line: 1, column: 4]",
                '[Source: (String)"not a definition"; line: 1, column: 4]',
            ),
        ),
    ],
    ids=["blank", "array", "not-json"],
)
def test_definition_text(text: str, expected: Diagnostic) -> None:
    assert validate_definition_text(text) == (expected,)


def test_parallel_nested_fifty_deep_is_bounded() -> None:
    state: dict[str, Any] = PASS_END
    for depth in range(50):
        state = {
            "Type": "Parallel",
            "Branches": [{"StartAt": f"S{depth}", "States": {f"S{depth}": state}}],
            "End": True,
        }
    assert validate_definition(one(state)) == ()


def test_nesting_beyond_the_limit_is_a_diagnostic_not_a_crash() -> None:
    state: dict[str, Any] = PASS_END
    for depth in range(300):
        state = {
            "Type": "Parallel",
            "Branches": [{"StartAt": f"S{depth}", "States": {f"S{depth}": state}}],
            "End": True,
        }
    assert "TOO_DEEPLY_NESTED" in {d.code for d in validate_definition(one(state))}


def test_ten_megabyte_definition_is_fast_and_reported() -> None:
    states: dict[str, Any] = {
        f"S{i}": {"Type": "Pass", "Result": "x" * 100, "Next": f"S{i + 1}"} for i in range(60_000)
    }
    states["S60000"] = PASS_END
    text = json.dumps(machine(states))
    assert len(text) > 8_000_000
    started = time.perf_counter()
    diagnostics = validate_definition_text(text)
    assert time.perf_counter() - started < 10
    assert diagnostics[0].message.startswith(f"The definition is {len(text)} bytes")


def test_a_flood_of_problems_is_capped() -> None:
    states = {f"S{i}": {"Type": "Pass", "Next": "Missing"} for i in range(5000)}
    assert len(validate_definition(machine(states))) == 1000


def test_invalid_definition_message_joins_errors_like_aws() -> None:
    diagnostics = validate_definition(machine({"A": {"Type": "Pass", "Next": "B"}}))
    assert invalid_definition_message(diagnostics) == (
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: B "
        "at /States/A/Next, MISSING_END_STATE: Workflow has no terminal state at null'"
    )
