"""Task ``Resource`` values that call other services, read and checked (pure string functions):
``arn:aws:states:::aws-sdk:<service>:<action>``, the optimized integrations Stepline runs, the HTTP
Task, each maybe with a service integration pattern (``.waitForTaskToken``, ``.sync``, ``.sync:2``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from statemachine.arns import aws_sdk_resource

WAIT_FOR_TASK_TOKEN: Final = ".waitForTaskToken"
SYNC: Final = ".sync"
SYNC2: Final = ".sync:2"

AWS_SDK: Final = "aws-sdk"
OPTIMIZED: Final = "optimized"
HTTP: Final = "http"

IMPLEMENTED: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "dynamodb": {"getItem": (), "putItem": (), "updateItem": (), "deleteItem": ()},
    "sns": {"publish": (WAIT_FOR_TASK_TOKEN,)},
    "sqs": {"sendMessage": (WAIT_FOR_TASK_TOKEN,)},
    "events": {"putEvents": (WAIT_FOR_TASK_TOKEN,)},
    "http": {"invoke": ()},
}
"""Optimized integrations Stepline runs: service -> action -> the patterns besides request-response."""

ELSEWHERE: Final = frozenset({"lambda", "states"})
"""Optimized integrations another module runs (``tasks``; nested executions)."""

AWS_ONLY: Final = frozenset(
    {
        "apigateway", "athena", "batch", "bedrock", "codebuild", "databrew", "dynamodb", "ecs", "eks",
        "elasticmapreduce", "emr-containers", "emr-serverless", "events", "glue", "mediaconvert",
        "sagemaker", "sns", "sqs", "states", "lambda", "http",
    }
)  # fmt: skip
"""Every service prefix AWS offers optimized integrations for: a resource of one of them that
Stepline does not run still validates (it fails at run time, naming the aws-sdk way to call it)."""

_RESOURCE = re.compile(r"arn:aws[\w-]*:states:::(?P<rest>.+)")
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*")
_ACTION = re.compile(r"[a-z][A-Za-z0-9]*")


@dataclass(frozen=True, slots=True)
class ServiceResource:
    """A Task ``Resource`` that calls a service, read."""

    kind: str
    """``aws-sdk``, ``optimized`` or ``http``."""
    service: str
    """As the resource names it: ``dynamodb``, ``s3``, ``http``."""
    action: str
    """As the resource names it, camelCase: ``getItem``, ``putObject``, ``invoke``."""
    pattern: str = ""
    """``""`` (request-response), ``.waitForTaskToken``, ``.sync``, ``.sync:2``."""

    @property
    def resource_type(self) -> str:
        """``resourceType`` of the Task* events: ``dynamodb``, ``aws-sdk:s3``, ``http``."""
        return f"aws-sdk:{self.service}" if self.kind == AWS_SDK else self.service


def _split_pattern(text: str) -> tuple[str, str]:
    for pattern in (WAIT_FOR_TASK_TOKEN, SYNC2, SYNC):
        if text.endswith(pattern):
            return text[: -len(pattern)], pattern
    return text, ""


@lru_cache(maxsize=1024)
def service_resource(resource: str) -> ServiceResource | None:
    """The service call a ``Resource`` names, or None (a Lambda function, ``lambda:invoke``,
    ``states:*``, an activity, or no service resource at all)."""
    found = _RESOURCE.fullmatch(resource)
    if found is None:
        return None
    body, pattern = _split_pattern(found["rest"])
    parts = body.split(":")
    if parts[0] == AWS_SDK and len(parts) == 3 and _NAME.fullmatch(parts[1]) and _ACTION.fullmatch(parts[2]):
        return ServiceResource(AWS_SDK, parts[1], parts[2], pattern)
    if len(parts) == 2 and parts[0] in IMPLEMENTED:
        kind = HTTP if parts[0] == HTTP else OPTIMIZED
        return ServiceResource(kind, parts[0], parts[1], pattern)
    return None


def request_response(resource: str) -> ServiceResource | None:
    """The service call a ``Resource`` names when it waits for nothing but the call's answer."""
    target = service_resource(resource)
    return target if target is not None and not target.pattern else None


def resource_problem(resource: str) -> str | None:
    """Why Step Functions would refuse this ``Resource`` of the ``arn:aws:states:::`` form (an
    unknown service or action, or a pattern the integration does not support); None if it would not."""
    found = _RESOURCE.fullmatch(resource)
    if found is None:
        return None
    body, pattern = _split_pattern(found["rest"])
    parts = body.split(":")
    known = _recognised(parts, pattern)
    return None if known else not_recognized(resource)


def not_recognized(resource: str) -> str:
    """Step Functions' words for a Task ``Resource`` it does not know."""
    return (
        f"The resource provided {resource} is not recognized. The value is not a valid resource ARN, "
        "or the resource is not available in this region."
    )


def _recognised(parts: list[str], pattern: str) -> bool:
    if parts[0] == AWS_SDK:
        return (
            len(parts) == 3
            and _NAME.fullmatch(parts[1]) is not None
            and _ACTION.fullmatch(parts[2]) is not None
            and pattern in ("", WAIT_FOR_TASK_TOKEN)
        )
    if len(parts) != 2 or not _ACTION.fullmatch(parts[1]):
        return False
    service, action = parts
    if service in IMPLEMENTED:
        patterns = IMPLEMENTED[service].get(action)
        return patterns is not None and (pattern == "" or pattern in patterns)
    return service in AWS_ONLY or service in ELSEWHERE


def is_unrun_optimized(resource: str) -> bool:
    """An optimized integration AWS offers that Stepline does not run (``ecs:runTask.sync``, ...)."""
    found = _RESOURCE.fullmatch(resource)
    if found is None or service_resource(resource) is not None:
        return False
    service = found["rest"].split(":", 1)[0]
    return service in AWS_ONLY and service not in ELSEWHERE


def unrun_message(resource: str) -> str:
    """What a Task calling an optimized integration Stepline does not run fails with."""
    found = _RESOURCE.fullmatch(resource)
    body = _split_pattern(found["rest"])[0] if found else resource
    service, _, action = body.partition(":")
    return (
        f"The resource '{resource}' is an optimized integration Stepline does not run; call the "
        "service through the AWS SDK integration instead: " + aws_sdk_resource(service, action)
    )
