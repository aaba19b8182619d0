"""The Amazon States Language: parse, validate, compile and interpret. Pure: no I/O, no clock.

This module is the language's public face: the other layers (foundation, workers, api, shell, bench,
scripts) import only these names, from ``statemachine`` itself; every submodule is private, so the
language can be reorganised without touching its users (``tests/unit/test_public_faces.py`` checks).
"""

from statemachine.arns import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    EXECUTION_ROLE_ARN,
    ArnError,
    access_point_arn,
    access_point_id_of,
    account_root_arn,
    activity_arn,
    code_signing_config_arn,
    connection_arn,
    event_bus_arn,
    event_rule_arn,
    event_source_mapping_arn,
    execution_arn,
    express_execution_arn,
    file_system_arn,
    function_arn,
    function_reference,
    layer_arn,
    log_group_name,
    map_run_child_arn,
    parse_function_ref,
    role_arn,
    s3_bucket_arn,
    schedule_arn,
    schedule_group_arn,
    signing_profile_version_arn,
    state_machine_arn,
    states_resource,
    version_arn,
)
from statemachine.callbacks import ActivityHost, CallbackHost, TokenWait, activity_name
from statemachine.chunk_runner import EXPRESS_CHILD_SECONDS, express_child_arn, run_chunk, run_express_chunk
from statemachine.context import ExecutionContext, ExecutionOutcome
from statemachine.diagnose import diagnose, diagnose_text, has_errors
from statemachine.errors import DefinitionError, Diagnostic, InvalidValue, StatesError, SteplineError
from statemachine.execution_logs import LEVELS as LOG_LEVELS
from statemachine.execution_logs import log_event, logged
from statemachine.history_reading import (
    Iteration,
    NotAStateEntry,
    StateStory,
    map_iteration_events,
    map_iterations,
    parallel_branches,
    state_story,
)
from statemachine.host import FunctionCall, FunctionResult, HistoryEvent, Host, ServiceCall
from statemachine.inspect import (
    Inspection,
    InspectionLevel,
    Stage,
    StateWork,
    branch_start_names,
    find_state,
    inspect_state,
    work_of,
)
from statemachine.interpreter import execute
from statemachine.intrinsics import IntrinsicEffects, evaluate_intrinsic, parse_intrinsic
from statemachine.ir import Map, Program
from statemachine.json_types import JSON
from statemachine.jsonata import Bindings as JsonataBindings
from statemachine.jsonata import compile_expression as compile_jsonata
from statemachine.jsonata import compile_template as compile_jsonata_template
from statemachine.jsonata import evaluate as evaluate_jsonata
from statemachine.jsonata import render as render_jsonata
from statemachine.limits import Limits
from statemachine.loader import load_program
from statemachine.local import (
    FunctionInvoker,
    LocalHost,
    LocalRun,
    ServiceCaller,
    execution_context,
    run_local,
)
from statemachine.map_runs import (
    MAP_RUN_CONTROLS,
    Gate,
    MapRunReport,
    MapRunTracker,
    MapRunUpdate,
    stopped_counts,
)
from statemachine.mocks import MockConfig, MockConfigError
from statemachine.mocks import TestCase as MockTestCase
from statemachine.mocks import parse_config as parse_mock_config
from statemachine.nested import NestedExecution, NestedHost, NestedStart
from statemachine.offload import (
    EXPRESS_MAP_CHILDREN,
    ExpressChildren,
    IterationOutcome,
    MapChunk,
    MapOffloader,
    outcomes_from_json,
    outcomes_to_json,
)
from statemachine.paths import PathNotFound, PathSyntaxError, parse_path
from statemachine.redrive import Resume, chunk_outputs, resume_point
from statemachine.start import StartError, check_start
from statemachine.test_state import (
    TEST_STATE,
    is_mockable,
    machine_under_test,
    needs_mock,
    state_spec,
    work_machine,
)
from statemachine.validation import (
    KnownOperation,
    express_diagnostics,
    invalid_definition_message,
    sdk_diagnostics,
    validate_definition_text,
)

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "EXECUTION_ROLE_ARN",
    "EXPRESS_CHILD_SECONDS",
    "EXPRESS_MAP_CHILDREN",
    "JSON",
    "LOG_LEVELS",
    "MAP_RUN_CONTROLS",
    "TEST_STATE",
    "ActivityHost",
    "ArnError",
    "CallbackHost",
    "DefinitionError",
    "Diagnostic",
    "ExecutionContext",
    "ExecutionOutcome",
    "ExpressChildren",
    "FunctionCall",
    "FunctionInvoker",
    "FunctionResult",
    "Gate",
    "HistoryEvent",
    "Host",
    "Inspection",
    "InspectionLevel",
    "IntrinsicEffects",
    "InvalidValue",
    "Iteration",
    "IterationOutcome",
    "JsonataBindings",
    "KnownOperation",
    "Limits",
    "LocalHost",
    "LocalRun",
    "Map",
    "MapChunk",
    "MapOffloader",
    "MapRunReport",
    "MapRunTracker",
    "MapRunUpdate",
    "MockConfig",
    "MockConfigError",
    "MockTestCase",
    "NestedExecution",
    "NestedHost",
    "NestedStart",
    "NotAStateEntry",
    "PathNotFound",
    "PathSyntaxError",
    "Program",
    "Resume",
    "ServiceCall",
    "ServiceCaller",
    "Stage",
    "StartError",
    "StateStory",
    "StateWork",
    "StatesError",
    "SteplineError",
    "TokenWait",
    "access_point_arn",
    "access_point_id_of",
    "account_root_arn",
    "activity_arn",
    "activity_name",
    "branch_start_names",
    "check_start",
    "chunk_outputs",
    "code_signing_config_arn",
    "compile_jsonata",
    "compile_jsonata_template",
    "connection_arn",
    "diagnose",
    "diagnose_text",
    "evaluate_intrinsic",
    "evaluate_jsonata",
    "event_bus_arn",
    "event_rule_arn",
    "event_source_mapping_arn",
    "execute",
    "execution_arn",
    "execution_context",
    "express_child_arn",
    "express_diagnostics",
    "express_execution_arn",
    "file_system_arn",
    "find_state",
    "function_arn",
    "function_reference",
    "has_errors",
    "inspect_state",
    "invalid_definition_message",
    "is_mockable",
    "layer_arn",
    "load_program",
    "log_event",
    "log_group_name",
    "logged",
    "machine_under_test",
    "map_iteration_events",
    "map_iterations",
    "map_run_child_arn",
    "needs_mock",
    "outcomes_from_json",
    "outcomes_to_json",
    "parallel_branches",
    "parse_function_ref",
    "parse_intrinsic",
    "parse_mock_config",
    "parse_path",
    "render_jsonata",
    "resume_point",
    "role_arn",
    "run_chunk",
    "run_express_chunk",
    "run_local",
    "s3_bucket_arn",
    "schedule_arn",
    "schedule_group_arn",
    "sdk_diagnostics",
    "signing_profile_version_arn",
    "state_machine_arn",
    "state_spec",
    "state_story",
    "states_resource",
    "stopped_counts",
    "validate_definition_text",
    "version_arn",
    "work_machine",
    "work_of",
]
