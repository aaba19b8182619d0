"""The shape of ASL as data: which fields each state type takes, of what kind, in which query language.

The validator walks a decoded definition against these tables, so adding a field is one line here.
Kinds are deliberately few; the validator knows how to check each one (``Kind`` below).
"""

from __future__ import annotations

from enum import Enum
from typing import Final


class Kind(Enum):
    """How a field's value is checked."""

    STRING = "string"
    BOOLEAN = "boolean"
    POSITIVE_INT = "positive integer"
    NON_NEGATIVE_INT = "non-negative integer"
    NUMBER = "number"
    OBJECT = "object"
    ANY = "any JSON value"
    PATH = "JSONPath"
    """A JSONPath (``$``, ``$$`` or ``$var``), or null where null has a meaning (InputPath/OutputPath)."""
    REFERENCE_PATH = "reference path"
    """A JSONPath without wildcards, filters or slices (ResultPath, ItemsPath, *Path)."""
    PAYLOAD_TEMPLATE = "payload template"
    """An object whose ``.$`` keys hold paths or intrinsic calls (Parameters, ResultSelector, ...)."""
    JSONATA_VALUE = "JSONata value"
    """Any JSON value; strings in ``{% %}`` must compile (Arguments, Output, Items, ...)."""
    ASSIGN = "variable assignments"
    RETRY = "retriers"
    CATCH = "catchers"
    CHOICES = "choice rules"
    BRANCHES = "branches"
    PROCESSOR = "item processor"
    STATE_NAME = "state name"
    TIMESTAMP = "RFC3339 timestamp"
    ERROR_NAME = "error name"


JSONPATH: Final = "JSONPath"
JSONATA: Final = "JSONata"
QUERY_LANGUAGES: Final = (JSONPATH, JSONATA)

STATE_TYPES: Final = ("Choice", "Fail", "Map", "Parallel", "Pass", "Succeed", "Task", "Wait")

TOP_LEVEL: Final[dict[str, Kind]] = {
    "Comment": Kind.STRING,
    "StartAt": Kind.STATE_NAME,
    "States": Kind.OBJECT,
    "TimeoutSeconds": Kind.POSITIVE_INT,
    "Version": Kind.STRING,
    "QueryLanguage": Kind.STRING,
}
TOP_LEVEL_REQUIRED: Final = ("StartAt", "States")

CONTAINER: Final[dict[str, Kind]] = {
    "Comment": Kind.STRING,
    "StartAt": Kind.STATE_NAME,
    "States": Kind.OBJECT,
}
"""A Parallel branch (and the core of a Map processor)."""

PROCESSOR: Final[dict[str, Kind]] = {**CONTAINER, "ProcessorConfig": Kind.OBJECT}
PROCESSOR_MODES: Final = ("INLINE", "DISTRIBUTED")
EXECUTION_TYPES: Final = ("STANDARD", "EXPRESS")

_COMMON: Final[dict[str, Kind]] = {"Type": Kind.STRING, "Comment": Kind.STRING, "QueryLanguage": Kind.STRING}
_FLOW: Final[dict[str, Kind]] = {"Next": Kind.STATE_NAME, "End": Kind.BOOLEAN}
_IO: Final[dict[str, Kind]] = {"InputPath": Kind.PATH, "OutputPath": Kind.PATH, "Output": Kind.JSONATA_VALUE}
_RESULT: Final[dict[str, Kind]] = {"ResultPath": Kind.REFERENCE_PATH, "ResultSelector": Kind.PAYLOAD_TEMPLATE}
_ERRORS: Final[dict[str, Kind]] = {"Retry": Kind.RETRY, "Catch": Kind.CATCH}
_ASSIGN: Final[dict[str, Kind]] = {"Assign": Kind.ASSIGN}

STATE_FIELDS: Final[dict[str, dict[str, Kind]]] = {
    "Pass": {
        **_COMMON,
        **_FLOW,
        **_IO,
        **_ASSIGN,
        "Result": Kind.ANY,
        "ResultPath": Kind.REFERENCE_PATH,
        "Parameters": Kind.PAYLOAD_TEMPLATE,
    },
    "Task": {
        **_COMMON,
        **_FLOW,
        **_IO,
        **_RESULT,
        **_ERRORS,
        **_ASSIGN,
        "Resource": Kind.STRING,
        "Parameters": Kind.PAYLOAD_TEMPLATE,
        "Arguments": Kind.JSONATA_VALUE,
        "TimeoutSeconds": Kind.POSITIVE_INT,
        "TimeoutSecondsPath": Kind.REFERENCE_PATH,
        "HeartbeatSeconds": Kind.POSITIVE_INT,
        "HeartbeatSecondsPath": Kind.REFERENCE_PATH,
        "Credentials": Kind.OBJECT,
    },
    "Choice": {**_COMMON, **_IO, **_ASSIGN, "Choices": Kind.CHOICES, "Default": Kind.STATE_NAME},
    "Wait": {
        **_COMMON,
        **_FLOW,
        **_IO,
        **_ASSIGN,
        "Seconds": Kind.NON_NEGATIVE_INT,
        "Timestamp": Kind.TIMESTAMP,
        "SecondsPath": Kind.REFERENCE_PATH,
        "TimestampPath": Kind.REFERENCE_PATH,
    },
    "Succeed": {**_COMMON, **_IO},
    "Fail": {
        **_COMMON,
        "Error": Kind.STRING,
        "ErrorPath": Kind.PATH,
        "Cause": Kind.STRING,
        "CausePath": Kind.PATH,
    },
    "Parallel": {
        **_COMMON,
        **_FLOW,
        **_IO,
        **_RESULT,
        **_ERRORS,
        **_ASSIGN,
        "Branches": Kind.BRANCHES,
        "Parameters": Kind.PAYLOAD_TEMPLATE,
        "Arguments": Kind.JSONATA_VALUE,
    },
    "Map": {
        **_COMMON,
        **_FLOW,
        **_IO,
        **_RESULT,
        **_ERRORS,
        **_ASSIGN,
        "ItemProcessor": Kind.PROCESSOR,
        "Iterator": Kind.PROCESSOR,
        "ItemsPath": Kind.REFERENCE_PATH,
        "Items": Kind.JSONATA_VALUE,
        "ItemSelector": Kind.PAYLOAD_TEMPLATE,
        "Parameters": Kind.PAYLOAD_TEMPLATE,
        "MaxConcurrency": Kind.NON_NEGATIVE_INT,
        "MaxConcurrencyPath": Kind.REFERENCE_PATH,
        "ToleratedFailurePercentage": Kind.NUMBER,
        "ToleratedFailurePercentagePath": Kind.REFERENCE_PATH,
        "ToleratedFailureCount": Kind.NON_NEGATIVE_INT,
        "ToleratedFailureCountPath": Kind.REFERENCE_PATH,
        "Label": Kind.STRING,
        "ItemReader": Kind.OBJECT,
        "ItemBatcher": Kind.OBJECT,
        "ResultWriter": Kind.OBJECT,
    },
}

JSONPATH_ONLY: Final = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultPath",
        "ResultSelector",
        "Result",
        "ItemsPath",
        "SecondsPath",
        "TimestampPath",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "MaxConcurrencyPath",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCountPath",
        "ErrorPath",
        "CausePath",
        "Iterator",
    }
)
JSONATA_ONLY: Final = frozenset({"Arguments", "Output", "Items", "Condition"})

JSONATA_EXPRESSION_ALLOWED: Final = frozenset(
    {
        "TimeoutSeconds",
        "HeartbeatSeconds",
        "Seconds",
        "Timestamp",
        "MaxConcurrency",
        "ToleratedFailurePercentage",
        "ToleratedFailureCount",
        "Error",
        "Cause",
        "Items",
    }
)
"""Fields that may hold a ``{% %}`` expression instead of their plain kind in JSONata states."""

MUTUALLY_EXCLUSIVE: Final[tuple[tuple[str, ...], ...]] = (
    ("Seconds", "Timestamp", "SecondsPath", "TimestampPath"),
    ("TimeoutSeconds", "TimeoutSecondsPath"),
    ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ("MaxConcurrency", "MaxConcurrencyPath"),
    ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
    ("ToleratedFailureCount", "ToleratedFailureCountPath"),
    ("Error", "ErrorPath"),
    ("Cause", "CausePath"),
    ("ItemProcessor", "Iterator"),
    ("ItemsPath", "Items"),
    ("ItemSelector", "Parameters"),
)

RETRIER: Final[dict[str, Kind]] = {
    "ErrorEquals": Kind.ERROR_NAME,
    "IntervalSeconds": Kind.POSITIVE_INT,
    "MaxAttempts": Kind.NON_NEGATIVE_INT,
    "BackoffRate": Kind.NUMBER,
    "MaxDelaySeconds": Kind.POSITIVE_INT,
    "JitterStrategy": Kind.STRING,
    "Comment": Kind.STRING,
}
JITTER_STRATEGIES: Final = ("FULL", "NONE")
CATCHER: Final[dict[str, Kind]] = {
    "ErrorEquals": Kind.ERROR_NAME,
    "Next": Kind.STATE_NAME,
    "ResultPath": Kind.REFERENCE_PATH,
    "Output": Kind.JSONATA_VALUE,
    "Assign": Kind.ASSIGN,
    "Comment": Kind.STRING,
}

MAX_INT: Final = 99999999
"""ASL's ceiling for TimeoutSeconds, IntervalSeconds, MaxAttempts, ..."""
MAX_DELAY_SECONDS: Final = 31622400
MAX_STATE_NAME: Final = 80
MAX_LABEL: Final = 40

COMPARISONS: Final[dict[str, Kind]] = {
    **{
        f"String{op}": Kind.STRING
        for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    },
    "StringMatches": Kind.STRING,
    **{
        f"Numeric{op}": Kind.NUMBER
        for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    },
    "BooleanEquals": Kind.BOOLEAN,
    **{
        f"Timestamp{op}": Kind.STRING
        for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    },
    **{f"Is{t}": Kind.BOOLEAN for t in ("Null", "Present", "Numeric", "String", "Boolean", "Timestamp")},
}
"""Choice comparison operators and the kind of their literal operand; each non-Is* one has a *Path twin."""
COMPARISONS_WITH_PATH: Final[dict[str, Kind]] = {
    **COMPARISONS,
    **{f"{op}Path": Kind.PATH for op in COMPARISONS if not op.startswith("Is") and op != "StringMatches"},
}
BOOLEAN_OPERATORS: Final = ("And", "Or", "Not")
CHOICE_RULE: Final[dict[str, Kind]] = {
    "Next": Kind.STATE_NAME,
    "Comment": Kind.STRING,
    "Assign": Kind.ASSIGN,
    "Output": Kind.JSONATA_VALUE,
    "Variable": Kind.PATH,
    "Condition": Kind.JSONATA_VALUE,
}

ITEM_READER: Final[dict[str, Kind]] = {
    "Resource": Kind.STRING,
    "ReaderConfig": Kind.OBJECT,
    "Parameters": Kind.PAYLOAD_TEMPLATE,
    "Arguments": Kind.JSONATA_VALUE,
}
READER_CONFIG: Final = frozenset(
    {
        "InputType",
        "CSVHeaderLocation",
        "CSVHeaders",
        "CSVDelimiter",
        "MaxItems",
        "MaxItemsPath",
        "ManifestType",
    }
)
ITEM_BATCHER: Final[dict[str, Kind]] = {
    "MaxItemsPerBatch": Kind.POSITIVE_INT,
    "MaxItemsPerBatchPath": Kind.REFERENCE_PATH,
    "MaxInputBytesPerBatch": Kind.POSITIVE_INT,
    "MaxInputBytesPerBatchPath": Kind.REFERENCE_PATH,
    "BatchInput": Kind.PAYLOAD_TEMPLATE,
}
RESULT_WRITER: Final[dict[str, Kind]] = {
    "Resource": Kind.STRING,
    "Parameters": Kind.PAYLOAD_TEMPLATE,
    "Arguments": Kind.JSONATA_VALUE,
    "WriterConfig": Kind.OBJECT,
}
DISTRIBUTED_PARTS: Final[dict[str, dict[str, Kind]]] = {
    "ItemReader": ITEM_READER,
    "ItemBatcher": ITEM_BATCHER,
    "ResultWriter": RESULT_WRITER,
}
"""Distributed Map's reader, batcher and writer: validated here, run by the Temporal host."""
