"""ARNs: every one Stepline builds or reads, in one place.

ARNs are part of the language: a Task's ``Resource`` is a Lambda function ARN, and the context
object (``$$``) holds the execution's, the state machine's and the role's. One Stepline is one
region of one account: what it builds carries ``DEFAULT_ACCOUNT`` (unless a caller names another,
e.g. the conformance corpus' recorded account) and the region it runs in (``Settings.region``); the
account and region of an ARN it reads are not checked. Pure string functions: the layers above turn
an ``ArnError`` into their own errors (``api.aws.arns``: InvalidArn).
"""

from __future__ import annotations

import re
from typing import Final

from statemachine.errors import InvalidValue

DEFAULT_ACCOUNT: Final = "000000000000"
"""The account in every ARN Stepline builds."""
DEFAULT_REGION: Final = "us-east-1"
"""The region when none is configured (``Settings.region``) or an ARN names none."""
EXECUTION_ROLE: Final = "StepFunctionsRole"

LAMBDA_INVOKE: Final = "arn:aws:states:::lambda:invoke"
"""The Lambda service integration's ``Resource``."""
FUNCTION_ARN: Final = re.compile(r"arn:[\w-]+:lambda:[\w-]*:\d*:function:[\w-]+(:[\w$-]+)?")
"""A Task ``Resource`` naming a function: ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]``."""
_FUNCTION_REFERENCE = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:)?(?:[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d:)?(?:\d{12}:)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_.-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)
_ACCESS_POINT_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:elasticfilesystem:[^:]*:\d{12}:access-point/(fsap-[0-9a-f]{17})$"
)

_LOG_GROUP_ARN = re.compile(r"arn:aws[a-zA-Z-]*:logs:[\w-]*:\d*:log-group:(?P<name>[\w#./-]{1,512})(?::\*)?")


class ArnError(InvalidValue):
    """An ARN or function reference that cannot be read; the message says why, in AWS's words."""


# Step Functions ------------------------------------------------------------------------------------


def state_machine_arn(name: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    """``arn:aws:states:REGION:ACCOUNT:stateMachine:NAME``, as ``$$.StateMachine.Id`` shows it."""
    return f"arn:aws:states:{region}:{account}:stateMachine:{name}"


def activity_arn(name: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    """``arn:aws:states:REGION:ACCOUNT:activity:NAME``."""
    return f"arn:aws:states:{region}:{account}:activity:{name}"


def version_arn(name: str, version: int, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    """A published version's ARN: the state machine's, ``:N``."""
    return f"{state_machine_arn(name, region, account)}:{version}"


def execution_arn(
    state_machine: str,
    name: str,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
    *,
    express: bool = False,
) -> str:
    """``arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`` (``express:`` for an EXPRESS
    machine's), as ``$$.Execution.Id`` shows it."""
    kind = "express" if express else "execution"
    return f"arn:aws:states:{region}:{account}:{kind}:{state_machine}:{name}"


def express_execution_arn(
    state_machine: str, name: str, run_id: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
) -> str:
    """An Express execution's ARN, ``arn:aws:states:REGION:ACCOUNT:express:MACHINE:NAME:RUN_ID``
    (synchronous or asynchronous; ``RUN_ID`` a uuid, as names are not unique among Express
    executions), as ``$$.Execution.Id`` shows it."""
    return f"arn:aws:states:{region}:{account}:express:{state_machine}:{name}:{run_id}"


def log_group_name(arn: str) -> str:
    """The log group a CloudWatch Logs log group ARN names,
    ``arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]``.

    Raises:
        ArnError: any other text.
    """
    found = _LOG_GROUP_ARN.fullmatch(arn)
    if found is None:
        raise ArnError(
            f"not a CloudWatch Logs log group ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*): {arn!r}"
        )
    return found["name"]


def map_run_arn(execution: str, state_name: str, run_id: str) -> str:
    """A Distributed Map run's ARN, derived from its execution's."""
    return f"{execution.replace(':execution:', ':mapRun:')}/{state_name}:{run_id}"


def map_run_child_arn(map_run: str, name: str, *, express: bool = False) -> str:
    """The ARN of one child run of a Distributed Map run (a ResultWriter's ``ExecutionArn``);
    ``express``: of an EXPRESS child execution (``...:express:MACHINE/STATE:RUN:NAME``)."""
    kind = ":express:" if express else ":execution:"
    return f"{map_run.replace(':mapRun:', kind, 1)}:{name}"


def map_run_child_name(index: int, redrive_count: int = 0) -> str:
    """The name of a Distributed Map's EXPRESS child execution for item ``index``: its index;
    ``INDEX-redrive-N`` when the map run's ``N``-th redrive ran it again (a new execution)."""
    return f"{index}-redrive-{redrive_count}" if redrive_count else str(index)


def role_arn(role: str = EXECUTION_ROLE, account: str = DEFAULT_ACCOUNT) -> str:
    """An IAM role's ARN (IAM ARNs have no region)."""
    return f"arn:aws:iam::{account}:role/{role}"


EXECUTION_ROLE_ARN: Final = role_arn()
"""``roleArn`` of ExecutionStarted and ``$$.Execution.RoleArn`` when the machine names no role."""


def account_root_arn(account: str) -> str:
    """An account's root principal, as Lambda shows a policy's account principal."""
    return f"arn:aws:iam::{account}:root"


def states_resource(arn: str, kind: str) -> list[str]:
    """The parts after ``...:<kind>:`` of a Step Functions ARN (``stateMachine``, ``execution``).

    Raises:
        ArnError: not an ARN, not a Step Functions one, or one of another kind.
    """
    if not arn.startswith("arn:"):
        raise ArnError(f"Invalid Arn: 'Invalid ARN prefix: {arn}'")
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "states" or not all(parts[6:]):
        raise ArnError(f"Invalid Arn: 'Unable to parse ARN: {arn}'")
    if parts[5] != kind:
        raise ArnError(f"Invalid Arn: 'Resource type not valid in this context: {parts[5]}'")
    return parts[6:]


def region_of(arn: str) -> str:
    """The region an ARN names (``DEFAULT_REGION`` when it names none)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else DEFAULT_REGION


# Lambda ----------------------------------------------------------------------------------------------


def function_arn(
    name: str, qualifier: str | None = None, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
) -> str:
    """A function's ARN, with ``:qualifier`` (a version, ``$LATEST``) when given."""
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def parse_function_ref(ref: str) -> tuple[str, str | None]:
    """(name, qualifier) of what a Task state names: ``name``, ``name:qualifier`` or
    ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]``.

    Raises:
        ArnError: an ARN that is not a Lambda function's, or no name.
    """
    if ref.startswith("arn:"):
        parts = ref.split(":")
        if len(parts) not in (7, 8) or parts[2] != "lambda" or parts[5] != "function":
            raise ArnError(f"not a Lambda function ARN: {ref!r}")
        name, qualifier = parts[6], parts[7] if len(parts) == 8 else None
    else:
        name, _, rest = ref.partition(":")
        qualifier = rest or None
    if not name:
        raise ArnError(f"no function name in {ref!r}")
    return name, qualifier


def function_reference(reference: str) -> tuple[str, str | None] | None:
    """(name, qualifier) of every form Lambda's API accepts for ``FunctionName``: a name, a partial
    ARN (``ACCOUNT:function:NAME``) or a full one, each maybe with ``:qualifier``; None otherwise."""
    found = _FUNCTION_REFERENCE.match(reference)
    return None if found is None else (found["name"], found["qualifier"])


# Service integrations ------------------------------------------------------------------------------


def aws_sdk_resource(service: str, action: str) -> str:
    """The Task ``Resource`` calling an AWS SDK operation: ``arn:aws:states:::aws-sdk:SERVICE:ACTION``."""
    return f"arn:aws:states:::aws-sdk:{service}:{action}"


def connection_arn(name: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    """An HTTP Task connection's ARN, in EventBridge's form (Stepline adds no id after the name)."""
    return f"arn:aws:events:{region}:{account}:connection/{name}"


def layer_arn(
    name: str, version: int | None = None, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
) -> str:
    """A Lambda layer's ARN, ``arn:aws:lambda:REGION:ACCOUNT:layer:NAME``, with ``:VERSION`` when given."""
    arn = f"arn:aws:lambda:{region}:{account}:layer:{name}"
    return f"{arn}:{version}" if version is not None else arn


def code_signing_config_arn(
    config_id: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
) -> str:
    """``arn:aws:lambda:REGION:ACCOUNT:code-signing-config:csc-...``."""
    return f"arn:aws:lambda:{region}:{account}:code-signing-config:{config_id}"


def signing_profile_version_arn(
    name: str, version: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
) -> str:
    """An AWS Signer profile version's ARN:
    ``arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME/VERSION``."""
    return f"arn:aws:signer:{region}:{account}:/signing-profiles/{name}/{version}"


# EFS (file systems) ----------------------------------------------------------------------------------


def access_point_arn(
    access_point_id: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
) -> str:
    """``arn:aws:elasticfilesystem:REGION:ACCOUNT:access-point/fsap-...``."""
    return f"arn:aws:elasticfilesystem:{region}:{account}:access-point/{access_point_id}"


def file_system_arn(file_system: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:elasticfilesystem:{region}:{account}:file-system/{file_system}"


def s3_bucket_arn(bucket: str) -> str:
    """``arn:aws:s3:::BUCKET`` (S3 ARNs name no region or account): a file system as the bucket of an
    S3-shaped event."""
    return f"arn:aws:s3:::{bucket}"


def access_point_id_of(arn: str) -> str | None:
    """The ``fsap-`` id an access point ARN names; None for anything else."""
    found = _ACCESS_POINT_ARN.match(arn)
    return None if found is None else found[1]


# EventBridge (buses and rules) -------------------------------------------------------------------


def event_source_mapping_arn(uuid: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    """``arn:aws:lambda:REGION:ACCOUNT:event-source-mapping:UUID``."""
    return f"arn:aws:lambda:{region}:{account}:event-source-mapping:{uuid}"


def event_bus_arn(bus: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    """``arn:aws:events:REGION:ACCOUNT:event-bus/NAME``."""
    return f"arn:aws:events:{region}:{account}:event-bus/{bus}"


def event_rule_arn(bus: str, rule: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    """``arn:aws:events:REGION:ACCOUNT:rule/[BUS/]NAME`` (the default bus is not named)."""
    path = rule if bus == "default" else f"{bus}/{rule}"
    return f"arn:aws:events:{region}:{account}:rule/{path}"


def schedule_arn(group: str, name: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    """``arn:aws:scheduler:REGION:ACCOUNT:schedule/GROUP/NAME`` (EventBridge Scheduler)."""
    return f"arn:aws:scheduler:{region}:{account}:schedule/{group}/{name}"


def schedule_group_arn(group: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    """``arn:aws:scheduler:REGION:ACCOUNT:schedule-group/GROUP``."""
    return f"arn:aws:scheduler:{region}:{account}:schedule-group/{group}"
