"""The Step Functions endpoint: awsJson1_0 on ``POST /`` (``X-Amz-Target: AWSStepFunctions.<Op>``).

The operations below are served; the model's others (UpdateMapRun) answer
a 400 ``UnsupportedOperation`` naming the operation, never a 404.

StartSyncExecution and TestState carry the ``sync-`` host prefix in the model: the SDKs send them to
``sync-<host>``. This endpoint answers whatever the Host header says, but ``sync-127.0.0.1`` does not
resolve, so clients of a local endpoint turn the prefix off: ``botocore.config.Config(
inject_host_prefix=False)`` or ``AWS_DISABLE_HOST_PREFIX_INJECTION=true`` (docs/aws-api.md).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.aws import sfn_activities as activities
from api.aws import sfn_aliases as aliases
from api.aws import sfn_executions as executions
from api.aws import sfn_map_runs as map_runs
from api.aws import sfn_state_machines as machines
from api.aws import sfn_tags as tags
from api.aws import sfn_test_state as test_state
from api.aws.events_bus import EVENTS
from api.aws.json_protocol import Handler, JsonService, serve
from api.aws.sfn_errors import sfn_error

HANDLERS: dict[str, Handler] = {
    "CreateStateMachine": machines.create_state_machine,
    "DescribeStateMachine": machines.describe_state_machine,
    "UpdateStateMachine": machines.update_state_machine,
    "DeleteStateMachine": machines.delete_state_machine,
    "ListStateMachines": machines.list_state_machines,
    "ValidateStateMachineDefinition": machines.validate_state_machine_definition,
    "PublishStateMachineVersion": machines.publish_state_machine_version,
    "ListStateMachineVersions": machines.list_state_machine_versions,
    "DeleteStateMachineVersion": machines.delete_state_machine_version,
    "CreateStateMachineAlias": aliases.create_state_machine_alias,
    "DescribeStateMachineAlias": aliases.describe_state_machine_alias,
    "UpdateStateMachineAlias": aliases.update_state_machine_alias,
    "DeleteStateMachineAlias": aliases.delete_state_machine_alias,
    "ListStateMachineAliases": aliases.list_state_machine_aliases,
    "TestState": test_state.test_state,
    "StartExecution": executions.start_execution,
    "StartSyncExecution": executions.start_sync_execution,
    "DescribeExecution": executions.describe_execution,
    "DescribeStateMachineForExecution": executions.describe_state_machine_for_execution,
    "StopExecution": executions.stop_execution,
    "RedriveExecution": executions.redrive_execution,
    "ListExecutions": executions.list_executions,
    "GetExecutionHistory": executions.get_execution_history,
    "DescribeMapRun": map_runs.describe_map_run,
    "ListMapRuns": map_runs.list_map_runs,
    "UpdateMapRun": map_runs.update_map_run,
    "TagResource": tags.tag_resource,
    "UntagResource": tags.untag_resource,
    "ListTagsForResource": tags.list_tags_for_resource,
    "CreateActivity": activities.create_activity,
    "DescribeActivity": activities.describe_activity,
    "ListActivities": activities.list_activities,
    "DeleteActivity": activities.delete_activity,
    "GetActivityTask": activities.get_activity_task,
    "SendTaskSuccess": activities.send_task_success,
    "SendTaskFailure": activities.send_task_failure,
    "SendTaskHeartbeat": activities.send_task_heartbeat,
}


def _unsupported(operation: str) -> str:
    return (
        f"{operation} is not supported by this Stepline yet: a map run's settings are fixed "
        "when it starts (see docs/aws-api.md)"
    )


STEP_FUNCTIONS = JsonService("AWSStepFunctions", "stepfunctions", HANDLERS, sfn_error, _unsupported)
SERVICES = {STEP_FUNCTIONS.target_prefix: STEP_FUNCTIONS, EVENTS.target_prefix: EVENTS}
"""Step Functions, and EventBridge (buses, rules, PutEvents: ``api.aws.events_bus``; connections for HTTP
Tasks: ``api.aws.events_connections``)."""


async def _json_endpoint(request: Request) -> Response:
    return await serve(SERVICES, request)


def mount_stepfunctions(app: Any) -> None:
    """Serve ``POST /`` first in the route list (matching it after every ``/v1`` route would cost
    each AWS request a walk through them)."""
    app.router.routes.insert(0, Route("/", _json_endpoint, methods=["POST"], include_in_schema=False))
