"""Error names as Step Functions gives them: ``<Service>.<Error>Exception`` for AWS SDK integrations
(the service in PascalCase as the AWS SDK for Java 2 names its client: ``DynamoDb``, ``S3``,
``AcmPca``), the optimized integrations' own prefixes (``DynamoDB``, ``SNS``, ``SQS``,
``EventBridge``), and ``States.TaskFailed`` for what never reached the service."""

from __future__ import annotations

import re
from typing import Any, Final

from statemachine import StatesError

OPTIMIZED_PREFIXES: Final = {"dynamodb": "DynamoDB", "sns": "SNS", "sqs": "SQS", "events": "EventBridge"}
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def pascal_service(service_id: str) -> str:
    """A botocore ``serviceId`` as the Java SDK 2 spells its client: ``DynamoDB`` -> ``DynamoDb``,
    ``ACM PCA`` -> ``AcmPca``, ``SQS`` -> ``Sqs``, ``S3`` -> ``S3``."""
    words = [w for part in re.split(r"[^A-Za-z0-9]+", service_id) for w in _WORD.findall(part)]
    return "".join(w[:1].upper() + w[1:].lower() for w in words)


def exception_name(code: str, codes: dict[str, str]) -> str:
    """The modelled error's shape name for a wire code (SQS answers ``AWS.SimpleQueueService.
    NonExistentQueue`` for ``QueueDoesNotExist``), with the ``Exception`` suffix Step Functions adds."""
    name = codes.get(code, code.rsplit(".", 1)[-1])
    return name if name.endswith("Exception") else f"{name}Exception"


def service_error(prefix: str, response: dict[str, Any], codes: dict[str, str], service: str) -> StatesError:
    """A service's error answer as the Task's error, its cause as the Java SDK words it."""
    error = response.get("Error", {})
    code = str(error.get("Code") or "Unknown")
    message = str(error.get("Message") or "")
    metadata = response.get("ResponseMetadata", {})
    cause = (
        f"{message} (Service: {service}, Status Code: {metadata.get('HTTPStatusCode', 0)}, "
        f"Error Code: {code}, Request ID: {metadata.get('RequestId', '')})"
    )
    modelled = str(error.get("QueryErrorCode") or code)  # awsQuery-compatible services answer both
    return StatesError(f"{prefix}.{exception_name(modelled, codes)}", cause)


def task_failed(message: str) -> StatesError:
    return StatesError("States.TaskFailed", message)
