"""The compiled state machine: frozen, slotted, every path pre-parsed and every template pre-split.

Built by ``compiler.compile_program`` from a validated definition; walked by the interpreter, which
dispatches with ``match`` over ``State``. Docstrings name the ASL field each attribute comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from statemachine.choice import Rule
from statemachine.paths import Path
from statemachine.templates import Template

QueryLanguage = Literal["JSONPath", "JSONata"]
JSONataTemplate = Any
"""A template compiled by ``statemachine.jsonata.compile_template``."""
JSONataExpression = Any
"""An expression compiled by ``statemachine.jsonata.compile_expression``."""


@dataclass(frozen=True, slots=True)
class Assign:
    """``Assign``: variables set when the state (or a Catch) completes."""

    jsonpath: Template | None = None
    """The JSONPath-flavoured Assign template (``.$`` keys)."""
    jsonata: JSONataTemplate | None = None
    """The JSONata-flavoured Assign template (``{% %}`` values)."""


@dataclass(frozen=True, slots=True)
class Retrier:
    """One ``Retry`` entry."""

    error_equals: tuple[str, ...]
    """``ErrorEquals``."""
    interval_seconds: float = 1.0
    """``IntervalSeconds``."""
    max_attempts: int = 3
    """``MaxAttempts`` (0: never retry)."""
    backoff_rate: float = 2.0
    """``BackoffRate``."""
    max_delay_seconds: float | None = None
    """``MaxDelaySeconds``."""
    full_jitter: bool = False
    """``JitterStrategy`` is ``FULL``."""


@dataclass(frozen=True, slots=True)
class Catcher:
    """One ``Catch`` entry."""

    error_equals: tuple[str, ...]
    """``ErrorEquals``."""
    next: str
    """``Next``."""
    result_path: Path | None
    """``ResultPath`` (JSONPath; None: ``null``, discard the error output)."""
    output: JSONataTemplate | None = None
    """``Output`` (JSONata)."""
    assign: Assign | None = None
    """``Assign``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StateBase:
    """What every state has."""

    name: str
    """The key under ``States``."""
    query_language: QueryLanguage
    """``QueryLanguage`` of the state, or inherited from the top level."""
    next: str | None = None
    """``Next`` (None when ``End`` or a terminal state)."""
    input_path: Path | None = None
    """``InputPath`` (None: ``null``, the input becomes ``{}``); the root path when absent."""
    output_path: Path | None = None
    """``OutputPath`` (None: ``null``)."""
    output: JSONataTemplate | None = None
    """``Output`` (JSONata; None when absent)."""
    assign: Assign | None = None
    """``Assign``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pass(StateBase):
    """A ``Pass`` state."""

    parameters: Template | None = None
    """``Parameters``."""
    result: Any = None
    """``Result``."""
    has_result: bool = False
    """Whether ``Result`` was given (it may be ``null``)."""
    result_path: Path | None = None
    """``ResultPath`` (None: ``null``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Task(StateBase):
    """A ``Task`` state invoking a Lambda function."""

    resource: str
    """``Resource``."""
    integration: bool
    """True for ``arn:aws:states:::lambda:invoke`` (the service integration), False for a function ARN."""
    supported: bool = True
    """False for any other resource (other AWS services, activities, ``.waitForTaskToken``)."""
    parameters: Template | None = None
    """``Parameters``."""
    arguments: JSONataTemplate | None = None
    """``Arguments`` (JSONata)."""
    result_selector: Template | None = None
    """``ResultSelector``."""
    result_path: Path | None = None
    """``ResultPath``."""
    timeout_seconds: int | None = None
    """``TimeoutSeconds``."""
    timeout_seconds_path: Path | None = None
    """``TimeoutSecondsPath``."""
    timeout_seconds_expr: JSONataExpression | None = None
    """``TimeoutSeconds`` given as a JSONata expression."""
    heartbeat_seconds: int | None = None
    """``HeartbeatSeconds``."""
    heartbeat_seconds_path: Path | None = None
    """``HeartbeatSecondsPath``."""
    heartbeat_seconds_expr: JSONataExpression | None = None
    """``HeartbeatSeconds`` given as a JSONata expression."""
    retry: tuple[Retrier, ...] = ()
    """``Retry``."""
    catch: tuple[Catcher, ...] = ()
    """``Catch``."""


@dataclass(frozen=True, slots=True)
class ChoiceBranch:
    """One entry of ``Choices``."""

    rule: Rule | None
    """The JSONPath rule (None in JSONata, which uses ``condition``)."""
    condition: JSONataExpression | None
    """``Condition`` (JSONata)."""
    next: str
    """``Next``."""
    output: JSONataTemplate | None = None
    """``Output`` (JSONata)."""
    assign: Assign | None = None
    """``Assign``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice(StateBase):
    """A ``Choice`` state."""

    choices: tuple[ChoiceBranch, ...]
    """``Choices``."""
    default: str | None = None
    """``Default``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Wait(StateBase):
    """A ``Wait`` state (exactly one of the four ways to say how long)."""

    seconds: float | None = None
    """``Seconds`` (a number)."""
    seconds_path: Path | None = None
    """``SecondsPath``."""
    seconds_expr: JSONataExpression | None = None
    """``Seconds`` given as a JSONata expression."""
    timestamp: str | None = None
    """``Timestamp``."""
    timestamp_path: Path | None = None
    """``TimestampPath``."""
    timestamp_expr: JSONataExpression | None = None
    """``Timestamp`` given as a JSONata expression."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Succeed(StateBase):
    """A ``Succeed`` state."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Fail(StateBase):
    """A ``Fail`` state."""

    error: str | None = None
    """``Error`` (a constant)."""
    error_path: Template | None = None
    """``ErrorPath`` (a path or an intrinsic call, compiled as a one-value template)."""
    error_expr: JSONataExpression | None = None
    """``Error`` given as a JSONata expression."""
    cause: str | None = None
    """``Cause``."""
    cause_path: Template | None = None
    """``CausePath``."""
    cause_expr: JSONataExpression | None = None
    """``Cause`` given as a JSONata expression."""


@dataclass(frozen=True, slots=True)
class Block:
    """A ``StartAt`` + ``States`` graph: the program, a Parallel branch or a Map item processor."""

    start_at: str
    """``StartAt``."""
    states: dict[str, State]
    """``States``, compiled."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Parallel(StateBase):
    """A ``Parallel`` state."""

    branches: tuple[Block, ...]
    """``Branches``."""
    parameters: Template | None = None
    """``Parameters``."""
    arguments: JSONataTemplate | None = None
    """``Arguments`` (JSONata)."""
    result_selector: Template | None = None
    """``ResultSelector``."""
    result_path: Path | None = None
    """``ResultPath``."""
    retry: tuple[Retrier, ...] = ()
    """``Retry``."""
    catch: tuple[Catcher, ...] = ()
    """``Catch``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Map(StateBase):
    """A ``Map`` state (inline, or distributed run in-process with MapRun events)."""

    processor: Block
    """``ItemProcessor`` (or the legacy ``Iterator``)."""
    distributed: bool = False
    """``ItemProcessor.ProcessorConfig.Mode`` is ``DISTRIBUTED``."""
    execution_type: str = "STANDARD"
    """``ItemProcessor.ProcessorConfig.ExecutionType``: how a Distributed Map's child runs are typed
    (recorded on its map run; here both kinds run in chunk workflows)."""
    items_path: Path | None = None
    """``ItemsPath`` (the root path when absent)."""
    items: Any = None
    """``Items`` (JSONata): a compiled expression/template, or None for ``$states.input``."""
    item_selector: Template | None = None
    """``ItemSelector`` (or the legacy ``Parameters``)."""
    item_selector_jsonata: JSONataTemplate | None = None
    """``ItemSelector`` in JSONata."""
    max_concurrency: int = 0
    """``MaxConcurrency`` (0: no limit)."""
    max_concurrency_path: Path | None = None
    """``MaxConcurrencyPath``."""
    max_concurrency_expr: JSONataExpression | None = None
    """``MaxConcurrency`` as a JSONata expression."""
    tolerated_failure_count: int | None = None
    """``ToleratedFailureCount``."""
    tolerated_failure_count_path: Path | None = None
    """``ToleratedFailureCountPath``."""
    tolerated_failure_count_expr: JSONataExpression | None = None
    """``ToleratedFailureCount`` as a JSONata expression."""
    tolerated_failure_percentage: float | None = None
    """``ToleratedFailurePercentage``."""
    tolerated_failure_percentage_path: Path | None = None
    """``ToleratedFailurePercentagePath``."""
    tolerated_failure_percentage_expr: JSONataExpression | None = None
    """``ToleratedFailurePercentage`` as a JSONata expression."""
    result_selector: Template | None = None
    """``ResultSelector``."""
    result_path: Path | None = None
    """``ResultPath``."""
    retry: tuple[Retrier, ...] = ()
    """``Retry``."""
    catch: tuple[Catcher, ...] = ()
    """``Catch``."""
    max_items_per_batch: tuple[Any, Path | None, Any] = (None, None, None)
    """``ItemBatcher.MaxItemsPerBatch`` (constant, ``...Path``, JSONata): iterations get
    ``{"Items": [...], "BatchInput": ...}``."""
    batch_input: Any = None
    """``ItemBatcher.BatchInput``: a JSONPath template or a JSONata template, rendered once."""
    max_input_bytes_per_batch: tuple[Any, Path | None, Any] = (None, None, None)
    """``ItemBatcher.MaxInputBytesPerBatch`` (constant, ``...Path``, JSONata): a batch closes before
    its items pass this size."""
    item_reader: Any = None
    """``ItemReader`` (``statemachine.item_io.IoSpec``)."""
    result_writer: Any = None
    """``ResultWriter`` (``statemachine.item_io.IoSpec``)."""
    processor_definition: Any = field(default=None, compare=False)
    """The item processor as a standalone definition (``QueryLanguage``, ``StartAt``, ``States``),
    for hosts that run chunks of iterations elsewhere (``statemachine.offload``)."""


State = Pass | Task | Choice | Wait | Succeed | Fail | Parallel | Map


@dataclass(frozen=True, slots=True)
class Program:
    """A compiled state machine."""

    block: Block
    """Top-level ``StartAt`` and ``States``."""
    query_language: QueryLanguage = "JSONPath"
    """Top-level ``QueryLanguage``."""
    timeout_seconds: int | None = None
    """Top-level ``TimeoutSeconds``."""
    comment: str | None = None
    """``Comment``."""
