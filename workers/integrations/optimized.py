"""The optimized integrations' request and result shapes, as Step Functions documents them (pure).

* ``dynamodb:getItem/putItem/updateItem/deleteItem``: the API's request as it is; the result is the
  API's answer with ``SdkHttpMetadata`` and ``SdkResponseMetadata``.
* ``sns:publish``: ``Message`` may be JSON (sent as its text); result ``MessageId`` (+ metadata).
* ``sqs:sendMessage``: ``MessageBody`` may be JSON (sent as its text); result ``MessageId``,
  ``MD5OfMessageBody`` (+ metadata).
* ``events:putEvents``: each entry's ``Detail`` may be JSON; the execution's and the state machine's
  ARNs are appended to each entry's ``Resources``; a non-zero ``FailedEntryCount`` fails the Task
  with ``EventBridge.FailedEntry``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from statemachine import JSON, StatesError

OPERATIONS: Final = {
    ("dynamodb", "getItem"): "GetItem",
    ("dynamodb", "putItem"): "PutItem",
    ("dynamodb", "updateItem"): "UpdateItem",
    ("dynamodb", "deleteItem"): "DeleteItem",
    ("sns", "publish"): "Publish",
    ("sqs", "sendMessage"): "SendMessage",
    ("events", "putEvents"): "PutEvents",
}
"""(service, action) -> the botocore operation; the botocore service name is the resource's."""
WITH_METADATA: Final = frozenset({"dynamodb", "sns", "sqs"})


def _text(value: Any) -> Any:
    return value if isinstance(value, str) or value is None else json.dumps(value, separators=(",", ":"))


def request(
    service: str, action: str, parameters: JSON, execution_arn: str, state_machine_arn: str
) -> tuple[str, dict[str, Any]]:
    """(botocore operation, its parameters) for an optimized integration's Parameters.

    Raises:
        StatesError: the Parameters are not an object (States.Runtime) or the action is unknown.
    """
    operation = OPERATIONS.get((service, action))
    if operation is None:
        raise StatesError("States.TaskFailed", f"Unsupported integration: {service}:{action}")
    if not isinstance(parameters, dict):
        raise StatesError(
            "States.Runtime", f"The parameters of the {service}:{action} integration must be an object"
        )
    params: dict[str, Any] = dict(parameters)
    if service == "sns" and "Message" in params:
        params["Message"] = _text(params["Message"])
    elif service == "sqs" and "MessageBody" in params:
        params["MessageBody"] = _text(params["MessageBody"])
    elif service == "events" and isinstance(params.get("Entries"), list):
        params["Entries"] = [_event_entry(e, execution_arn, state_machine_arn) for e in params["Entries"]]
    return operation, params


def _event_entry(entry: Any, execution_arn: str, state_machine_arn: str) -> Any:
    if not isinstance(entry, dict):
        return entry
    out = dict(entry)
    if "Detail" in out:
        out["Detail"] = _text(out["Detail"])
    resources = out.get("Resources")
    extra = [arn for arn in (execution_arn, state_machine_arn) if arn]
    out["Resources"] = ([*resources] if isinstance(resources, list) else []) + extra
    return out


def response(service: str, answer: dict[str, JSON], metadata: dict[str, Any]) -> JSON:
    """The Task's result from the API's answer (``answer``, JSON already) and botocore's
    ``ResponseMetadata`` (``metadata``).

    Raises:
        StatesError: ``EventBridge.FailedEntry`` when PutEvents reports failed entries.
    """
    if service == "events":
        failed = answer.get("FailedEntryCount")
        if isinstance(failed, int) and failed > 0:
            raise StatesError("EventBridge.FailedEntry", json.dumps(answer, separators=(",", ":")))
        return answer
    if service not in WITH_METADATA:
        return answer
    headers = {str(k): str(v) for k, v in (metadata.get("HTTPHeaders") or {}).items()}
    request_id = str(metadata.get("RequestId") or headers.get("x-amzn-requestid", ""))
    http: dict[str, JSON] = {
        "AllHttpHeaders": {k: [v] for k, v in headers.items()},
        "HttpHeaders": dict(headers),
        "HttpStatusCode": int(metadata.get("HTTPStatusCode") or 200),
    }
    return {**answer, "SdkHttpMetadata": http, "SdkResponseMetadata": {"RequestId": request_id}}
